#!/usr/bin/env python3
"""neurite and a PyTorch loop on the same folder of pictures and the same split.

The folder has the layout of Keras' image_dataset_from_directory and torchvision's
ImageFolder: DIR/<class>/*.png|jpg. For each seed the pictures are split once (stratified,
a seeded shuffle within each class) into TRAIN/<class>/ and TEST/<class>/ folders of links;
`neurite train --images TRAIN --test-images TEST` trains on them, and PyTorch trains the same
network (Linear-ReLU-Linear, Adam, cross-entropy, the same learning rate, batch size and
epochs) on the same pictures read by PIL the way neurite reads them (RGB, resized by area
averaging, Image.BOX, to the same size, values in 0..1, channels last). Prints each one's
test accuracy per seed and their means, and what `neurite predict` says of a few test
pictures with the last seed's model.

    pip install torch pillow numpy
    cargo build --release
    python3 scripts/images_vs_torch.py --make-shapes /tmp/shapes   # a folder no test has seen
    python3 scripts/images_vs_torch.py /tmp/shapes
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np

EXTENSIONS = (".png", ".jpg", ".jpeg")


def make_shapes(root, per_class, seed):
    """Four classes of light shapes (circle, square, triangle, cross) of random colour on dark
    grounds of random colour, 48x48 pixels, of random size and place; one in four a JPEG."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    for shape in ["circle", "cross", "square", "triangle"]:
        os.makedirs(os.path.join(root, shape), exist_ok=True)
        for i in range(per_class):
            ground = tuple(rng.randrange(90) for _ in range(3))
            ink = tuple(160 + rng.randrange(96) for _ in range(3))
            picture = Image.new("RGB", (48, 48), ground)
            draw = ImageDraw.Draw(picture)
            r = rng.uniform(8, 18)
            cx, cy = rng.uniform(r + 2, 46 - r), rng.uniform(r + 2, 46 - r)
            if shape == "circle":
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=ink)
            elif shape == "square":
                draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=ink)
            elif shape == "triangle":
                draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=ink)
            else:
                w = r / 3
                draw.rectangle([cx - r, cy - w, cx + r, cy + w], fill=ink)
                draw.rectangle([cx - w, cy - r, cx + w, cy + r], fill=ink)
            name = os.path.join(root, shape, f"{i:05d}")
            if i % 4 == 3:
                picture.save(name + ".jpg", quality=90)
            else:
                picture.save(name + ".png")
    print(f"wrote {4 * per_class} pictures in 4 classes under {root}")


def listing(root):
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    files = []
    for label, c in enumerate(classes):
        for f in sorted(os.listdir(os.path.join(root, c))):
            if f.lower().endswith(EXTENSIONS):
                files.append((os.path.join(root, c, f), label))
    return classes, files


def split(files, test_size, seed):
    rng = random.Random(seed)
    train, test = [], []
    for label in sorted({l for _, l in files}):
        mine = [f for f in files if f[1] == label]
        rng.shuffle(mine)
        n_test = round(len(mine) * test_size)
        test += mine[:n_test]
        train += mine[n_test:]
    return train, test


def link(files, classes, root):
    for c in classes:
        os.makedirs(os.path.join(root, c), exist_ok=True)
    for path, label in files:
        os.symlink(os.path.abspath(path), os.path.join(root, classes[label], os.path.basename(path)))


def pixels(files, size):
    from PIL import Image

    out = np.empty((len(files), size * size * 3), dtype=np.float32)
    for i, (path, _) in enumerate(files):
        with Image.open(path) as picture:
            rgb = picture.convert("RGB").resize((size, size), Image.BOX)
        out[i] = np.asarray(rgb, dtype=np.float32).reshape(-1) / 255.0
    return out


def torch_accuracy(xtr, ytr, xte, yte, classes, hidden, epochs, lr, batch, seed):
    import torch_mlp

    net = torch_mlp.train(xtr, ytr, classes, hidden, epochs, lr, batch, seed, threads=2)
    return torch_mlp.accuracy(net, xte, yte)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", nargs="?")
    p.add_argument("--make-shapes", metavar="DIR", help="write a folder of coloured shapes and stop")
    p.add_argument("--per-class", type=int, default=500)
    p.add_argument("--test-size", type=float, default=0.2)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--size", type=int, default=32, help="pictures are resized to SIZE x SIZE, RGB")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--neurite", default=os.path.join(root, "target", "release", "neurite"))
    a = p.parse_args()
    if a.make_shapes:
        make_shapes(a.make_shapes, a.per_class, seed=2026)
        return
    if not a.folder:
        p.error("give FOLDER (or --make-shapes DIR)")
    classes, files = listing(a.folder)
    results = {"neurite": [], "pytorch": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(a.seeds):
            train, test = split(files, a.test_size, seed)
            tr_dir, te_dir = os.path.join(tmp, f"train{seed}"), os.path.join(tmp, f"test{seed}")
            link(train, classes, tr_dir)
            link(test, classes, te_dir)
            model = os.path.join(tmp, "model.safetensors")
            cmd = [a.neurite, "train", "--images", tr_dir, "--test-images", te_dir,
                   "--image-size", f"{a.size}x{a.size}", "--color", "rgb",
                   "--hidden", str(a.hidden), "--activation", "relu", "--epochs", str(a.epochs),
                   "--batch-size", str(a.batch_size), "--lr", str(a.lr), "--seed", str(seed),
                   "--save", model, "--json"]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            results["neurite"].append(json.loads(out)["test_accuracy"])
            xtr, xte = pixels(train, a.size), pixels(test, a.size)
            ytr = np.array([l for _, l in train])
            yte = np.array([l for _, l in test])
            results["pytorch"].append(
                torch_accuracy(xtr, ytr, xte, yte, len(classes), a.hidden, a.epochs, a.lr, a.batch_size, seed))
        print(f"{a.folder}: {len(files)} pictures in {len(classes)} classes ({', '.join(classes)}), "
              f"test part {a.test_size} (stratified), {a.size}x{a.size} RGB, {a.hidden} relu hidden units, "
              f"Adam lr {a.lr}, batch {a.batch_size}, {a.epochs} epochs, seeds 0..{a.seeds - 1}")
        print("example command: " + " ".join(["neurite"] + cmd[1:]).replace(tmp, "$SPLIT"))
        for name, accs in results.items():
            per = " ".join(f"{v:.4f}" for v in accs)
            print(f"{name:>8}: mean test accuracy {np.mean(accs):.4f}  (per seed: {per})")
        few = [test[i] for i in range(0, len(test), max(1, len(test) // 4))][:4]
        shown = subprocess.run([a.neurite, "predict", "--model", model] + [f for f, _ in few],
                               check=True, capture_output=True, text=True).stdout
        print("neurite predict on four test pictures of the last seed (true classes: "
              + ", ".join(classes[l] for _, l in few) + "):")
        print(shown.rstrip().replace(tmp, "$SPLIT"))


if __name__ == "__main__":
    sys.exit(main())
