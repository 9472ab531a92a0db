"""Compiles the C header of every model `kilnc --list-models` names, as C99
and as C++17 with -Wall -Wextra -Werror, and prints one line per model and
language. Usage: headers.py KILNC FOLDER"""
import os
import subprocess
import sys

kilnc, work = sys.argv[1], sys.argv[2]
models = [l.split()[0] for l in subprocess.run(
    [kilnc, "--list-models"], check=True, capture_output=True,
    text=True).stdout.splitlines() if l.strip()]
failed = 0
for model in models:
    subprocess.run([kilnc, f"--model={model}", "--batch=2", "--emit=obj",
                    "-o", os.path.join(work, model + ".o")], check=True)
    for lang, compiler, std, ext in (("C99", "cc", "-std=c99", "c"),
                                     ("C++17", "c++", "-std=c++17", "cpp")):
        source = os.path.join(work, f"use_{model}.{ext}")
        with open(source, "w") as f:
            f.write(f'#include "{model}.h"\nint main(void) {{ return 0; }}\n')
        run = subprocess.run([compiler, std, "-Wall", "-Wextra", "-Werror",
                              "-I", work, "-c", source, "-o", source + ".o"],
                             capture_output=True, text=True)
        failed += run.returncode != 0
        print(f"{model} {lang}: {'compiles' if run.returncode == 0 else 'FAILS'}")
        if run.returncode:
            print(run.stderr[:2000])
sys.exit(1 if failed else 0)
