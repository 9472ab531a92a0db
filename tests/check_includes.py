#!/usr/bin/env python3
"""Fails if any file under the given directories includes MLIR or LLVM headers.

Kiln's public DSL headers and its runtime must stay free of MLIR and LLVM:
users' programs and the runtime do not depend on the compiler's headers.
"""
import pathlib
import re
import sys

FORBIDDEN = re.compile(r'^\s*#\s*include\s*[<"](mlir|llvm|llvm-c|mlir-c)/')


def main(dirs):
    bad = []
    for d in dirs:
        root = pathlib.Path(d)
        if not root.exists():
            print(f"error: {root} does not exist")
            return 2
        paths = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in paths:
            if path.suffix not in {".h", ".hpp", ".cpp", ".c", ".inc"}:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if FORBIDDEN.match(line):
                    bad.append(f"{path}:{number}: {line.strip()}")
    for b in bad:
        print(f"error: forbidden include: {b}")
    if not dirs:
        print("error: no directories given")
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
