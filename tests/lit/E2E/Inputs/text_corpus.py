"""Writes small text corpora into the folder given: corpus.txt (about 30 KB
of lines from a seeded generator, with tabs and bytes outside the text
vocabulary, which are dropped), short.txt (one word) and empty.txt."""

import os
import random
import sys

out = sys.argv[1]
rng = random.Random(7)
words = ("the quick brown fox jumps over a lazy dog while seven wizards "
         "quietly judge boxing matches near old stone bridges").split()
lines = []
while sum(len(line) + 1 for line in lines) < 30000:
    line = " ".join(rng.choice(words) for _ in range(rng.randint(3, 12)))
    lines.append(line.capitalize() + ".")
text = "\n".join(lines).encode() + b"\n\t\x00\xff caf\xc3\xa9\n"
with open(os.path.join(out, "corpus.txt"), "wb") as f:
    f.write(text)
with open(os.path.join(out, "short.txt"), "w") as f:
    f.write("short\n")
open(os.path.join(out, "empty.txt"), "w").close()
