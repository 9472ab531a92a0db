"""Runs `kilnc --gradcheck` on every model `kilnc --list-models` names, at
batch 2 with 3 elements per tensor; prints each model's verdict line and
exits 1 if any failed."""
import subprocess
import sys

kilnc = sys.argv[1]
models = [line.split()[0] for line in subprocess.run(
    [kilnc, "--list-models"], check=True, capture_output=True, text=True).stdout.splitlines()
    if line.strip()]
failed = 0
for model in models:
    run = subprocess.run([kilnc, f"--model={model}", "--batch=2", "--gradcheck",
                          "--gradcheck-samples=3"], capture_output=True, text=True)
    lines = run.stdout.strip().splitlines()
    print(f"{model}: {lines[-1] if lines else run.stderr.strip()}", flush=True)
    if run.returncode != 0:
        failed += 1
        print(run.stdout + run.stderr)
print("every model passed" if not failed else f"{failed} models failed")
sys.exit(1 if failed else 0)
