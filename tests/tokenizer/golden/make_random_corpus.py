#!/usr/bin/env python3
"""Writes corpus/random_mix.txt and corpus/random_mix2.txt: seeded random mixes of the characters the
pre-tokenizer tells apart (letters, marks, numbers, punctuation, symbols, the kinds of whitespace, CJK
and kana edge cases, astral characters, controls), so that the goldens exercise every branch of the
hand-written regex matchers next to every other. The other corpus files are written by hand."""
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent

MIX1 = [' ', '  ', '\t', '\n', '\r\n', '\r', 'a', 'Z', 'é', 'ß', 'Ж', 'ب', '中', 'か', 'カ', 'ー', '・', '゛', '\u0301', '\u0308',
        '0', '7', '٣', '²', '½', '!', '.', ',', '(', ')', '"', "'", '-', '_', '$', '+', '<', '>', '|', '~', '`', '^',
        '€', '©', '😀', '🇫', '\u200d', '\ufe0f', '\u00a0', '\u3000', '\u2028', '\u0085', '\x00', '\x07', '\x7f', '\ue000',
        'hello', 'World', 'x1', '1x', '...', '!?', 'http://', '::', '->', '\U0001d400', '\U00020000', 'ŉ', 'ǅ', 'ʰ', 'ﬁ']
MIX2 = [' ', '  ', '\t', '\n', '\r', '\r\n', '\x0b', '\x0c', '\x85', '\xa0', '\u2028', '\u3000', 'a', 'Q', 'é', 'ß', 'ǅ', 'ʰ', 'Ж', 'ب', 'א',
        '中', '龥', '龦', 'ぁ', 'ゝ', '゛', '゠', 'ー', '・', 'ヿ', '\u3040', '\u3099', '\u0301', '\u20dd', '\u0903', '0', '9', '٣', '²', '½', 'Ⅻ', '〇',
        '!', '.', ',', '(', '"', "'", '-', '_', '$', '+', '<', '|', '~', '`', '^', '€', '©', '¬', '\xad', '😀', '\U0001f3fd', '\u200d', '\ufe0f',
        '\x00', '\x07', '\x1f', '\x7f', '\ue000', '\U0001d400', '\U00020000', '\U0001e030', '\u1c89', '\U000e0001', '\ufff0', '𝟙']


def main():
    rng = random.Random(20261123)
    (HERE / "corpus" / "random_mix.txt").write_bytes("".join(rng.choice(MIX1) for _ in range(6000)).encode())
    rng = random.Random(7)
    (HERE / "corpus" / "random_mix2.txt").write_bytes("".join(rng.choice(MIX2) for _ in range(8000)).encode())


if __name__ == "__main__":
    main()
