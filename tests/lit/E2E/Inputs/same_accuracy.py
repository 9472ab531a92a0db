"""Compares the accuracy `./cnn eval` printed (first file) with an embedding
program's (second file): prints "the same: ..." or the two lines and fails."""
import re
import sys

pattern = re.compile(r"test accuracy [0-9.]+% \(\d+ examples\)")
found = []
for path in sys.argv[1:3]:
    with open(path) as f:
        match = pattern.search(f.read())
    found.append(match.group(0) if match else f"no accuracy in {path}")
if found[0] == found[1]:
    print("the same: " + found[0])
else:
    print("DIFFERENT: eval says '%s', the program says '%s'" % tuple(found))
    sys.exit(1)
