"""Compiles the C header of every model `kilnc --list-models` names, as C99
and as C++17 with -Wall -Wextra -Werror, and prints one line per model and
language; then links every model's object into one C program with the
runtime built in BUILD (no symbol of one model meets another's) and runs it,
printing each model's manifest size.
Usage: headers.py KILNC FOLDER BUILD SOURCE"""
import os
import subprocess
import sys

kilnc, work, build, source = sys.argv[1:5]
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

# Every model in one program.
main = os.path.join(work, "all_models.c")
with open(main, "w") as f:
    f.write("#include <stdio.h>\n#include <string.h>\n")
    for model in models:
        f.write(f'#include "{model}.h"\n')
    f.write("int main(void) {\n")
    for model in models:
        f.write(f'  printf("{model} manifest: %zu bytes\\n", '
                f'strlen({model}_kiln_manifest()));\n')
    f.write("  return 0;\n}\n")
program = os.path.join(work, "all_models")
# A build with KILN_SANITIZE instruments the runtime: link the sanitizers.
with open(os.path.join(build, "CMakeCache.txt")) as f:
    sanitized = "KILN_SANITIZE:BOOL=ON" in f.read()
link = subprocess.run(
    ["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", work, main] +
    [os.path.join(work, m + ".o") for m in models] +
    [os.path.join(build, "runtime", "libKilnRuntime.a"), "-ldnnl", "-lpng16",
     "-lz", "-lgomp", "-lstdc++", "-lm", "-ldl", "-pthread", "-o", program] +
    (["-fsanitize=address,undefined"] if sanitized else []),
    capture_output=True, text=True)
if link.returncode:
    print("linking all models FAILS\n" + link.stderr[:4000])
    sys.exit(1)
run = subprocess.run([program], capture_output=True, text=True)
print(run.stdout, end="")
failed += run.returncode != 0
sys.exit(1 if failed else 0)
