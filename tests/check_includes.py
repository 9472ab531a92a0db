#!/usr/bin/env python3
"""Fails if any file under the given directories includes MLIR or LLVM headers,
or if a header under the directories after --installed includes, in quotes,
anything but another installed header (kiln/...).

Kiln's public DSL headers and its runtime must stay free of MLIR and LLVM:
users' programs and the runtime do not depend on the compiler's headers; and
the installed headers must need nothing from the source tree.
Usage: check_includes.py DIR... [--installed DIR...]
"""
import pathlib
import re
import sys

FORBIDDEN = re.compile(r'^\s*#\s*include\s*[<"](mlir|llvm|llvm-c|mlir-c)/')
QUOTED = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def installed_headers(dirs):
    """Quoted includes of installed headers that are not kiln/ headers."""
    bad = []
    for d in dirs:
        for path in sorted(pathlib.Path(d).rglob("*.h")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                m = QUOTED.match(line)
                if m and not m.group(1).startswith("kiln/"):
                    bad.append(f"{path}:{number}: {line.strip()} (an installed "
                               "header may include only kiln/ headers)")
    return bad


def main(args):
    dirs = args[:args.index("--installed")] if "--installed" in args else args
    installed = args[args.index("--installed") + 1:] if "--installed" in args else []
    bad = installed_headers(installed)
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
