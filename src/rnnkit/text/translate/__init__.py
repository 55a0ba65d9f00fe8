"""Translation: :class:`Translator` (the Python API) over :class:`Seq2Seq` (the ``nn.Module``).

- :mod:`.model`: the encoder-decoder with Bahdanau/Luong attention and :class:`Decoding` (the decoding defaults);
- :mod:`.data`: ``source<TAB>target`` pairs, the held-out split by source sentence, padded batches;
- :mod:`.score`: BLEU and chrF (sacrebleu); :mod:`.plot`: the attention heat map;
- :mod:`.fit`: the settings and the training pieces; :mod:`.estimator`: :class:`Translator`;
- :mod:`.cli`: ``rnnkit translate train|run|eval``.
"""

from rnnkit.text.translate.data import read_pairs
from rnnkit.text.translate.estimator import Translator
from rnnkit.text.translate.fit import TranslateSettings
from rnnkit.text.translate.model import Decoding, Seq2Seq
from rnnkit.text.translate.score import score

__all__ = ["Decoding", "Seq2Seq", "TranslateSettings", "Translator", "read_pairs", "score"]
