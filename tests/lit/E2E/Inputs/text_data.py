"""Writes small Fashion-MNIST-shaped text data sets into the directory argv[1]:
train.csv and test.csv (a header, then a label and 784 pixel values 0-255 per
line; class c lights every pixel i with i % 10 == c, plus noise) and short.csv
(its second line has 3 values)."""
import os
import random
import sys

out = sys.argv[1]
rng = random.Random(0)


def write(name, count):
    with open(os.path.join(out, name), "w") as f:
        f.write("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n")
        for _ in range(count):
            c = rng.randrange(10)
            pixels = [255 if i % 10 == c else 0 for i in range(784)]
            for i in rng.sample(range(784), 80):
                pixels[i] = rng.randrange(256)
            f.write(f"{c}," + ",".join(map(str, pixels)) + "\n")


write("train.csv", 256)
write("test.csv", 64)
with open(os.path.join(out, "short.csv"), "w") as f:
    f.write("3 " + " ".join(["0"] * 784) + "\n1 2 3 4\n")
