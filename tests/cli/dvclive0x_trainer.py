#!/usr/bin/env python3
"""A trainer for the CLI tests that talks to `live exp run` exactly as a
Python training script using dvclive 0.4.x talked to DVC 2.x: Python
standard library only, no dvclive, no DVC.

What it reproduces (reference/dvc-checkpoints.md 2.2, 2.3; dvclive 0.4.x
`dvclive/metrics.py` and `dvclive/dvc.py`):

- configuration from DVCLIVE_PATH, DVCLIVE_SUMMARY, DVCLIVE_HTML,
  DVCLIVE_RESUME and DVC_CHECKPOINT, which override the arguments;
- log(name, value): append `timestamp\\tstep\\t<name>` rows to
  <path>/<name>.tsv through the csv module, so lines end in CRLF, then
  rewrite the summary <path>.json ({"step": N, ...}, indent=4);
- next_step(): summary, then (html on) create .dvc/tmp/DVC_LIVE without
  waiting, then the checkpoint handshake, then step += 1;
- the handshake: create <root>/.dvc/tmp/DVC_CHECKPOINT (open "w", write "",
  flush, fsync, close), then poll every 0.1 s until it is gone. <root> is
  found by walking up from the working directory to a folder holding .dvc,
  as dvclive 0.4.x did ($DVC_ROOT names the same folder under DVC).

The training itself: params epochs (steps to reach) and lr from params.yaml;
each step rewrites model.pt ("step=<i> lr=<lr>\\n" and some bytes) and
predictions.json, then logs loss and acc.
"""
import csv
import json
import os
import shutil
import time

_CHECKPOINT_SLEEP = 0.1


def _find_dvc_root(root=None):
    root = os.path.realpath(root or os.getcwd())
    while True:
        if os.path.exists(os.path.join(root, ".dvc")):
            return root
        if os.path.ismount(root):
            return None
        root = os.path.dirname(root)


def make_html():
    root = _find_dvc_root()
    if not root:
        return
    tmp = os.path.join(root, ".dvc", "tmp")
    os.makedirs(tmp, exist_ok=True)
    signal_file = os.path.join(tmp, "DVC_LIVE")
    if not os.path.exists(signal_file):
        with open(signal_file, "w"):
            pass


def make_checkpoint():
    if os.getenv("DVC_CHECKPOINT") is None:
        return
    root_dir = _find_dvc_root()
    if not root_dir:
        return
    signal_file = os.path.join(root_dir, ".dvc", "tmp", "DVC_CHECKPOINT")
    with open(signal_file, "w") as fobj:
        fobj.write("")
        fobj.flush()
        os.fsync(fobj.fileno())
    while os.path.exists(signal_file):
        time.sleep(_CHECKPOINT_SLEEP)


class Live:
    """dvclive 0.4.x's MetricLogger, reduced to scalars."""

    def __init__(self, path="dvclive", resume=False, summary=True, html=True):
        self._path = path
        self._resume = resume
        self._summary = summary
        self._html = html
        self._checkpoint = False
        if "DVCLIVE_PATH" in os.environ:
            self._path = os.environ["DVCLIVE_PATH"]
            self._summary = bool(int(os.environ.get("DVCLIVE_SUMMARY", "0")))
            self._html = bool(int(os.environ.get("DVCLIVE_HTML", "0")))
            self._checkpoint = bool(int(os.environ.get("DVC_CHECKPOINT", "0")))
            self._resume = bool(int(os.environ.get("DVCLIVE_RESUME", "0")))
        self._step = 0
        self._metrics = {}
        if self._resume and os.path.exists(self._path):
            self._step = self._read_step()
            if self._step != 0:
                self._step += 1
        else:
            shutil.rmtree(self._path, ignore_errors=True)
            if os.path.exists(self.summary_path):
                os.remove(self.summary_path)
            os.makedirs(self._path, exist_ok=True)

    @property
    def summary_path(self):
        return self._path + ".json"

    def _read_step(self):
        if os.path.exists(self.summary_path):
            with open(self.summary_path) as f:
                return int(json.load(f).get("step", 0))
        return 0

    def get_step(self):
        return self._step

    def make_summary(self):
        data = {"step": self._step}
        data.update(self._metrics)
        with open(self.summary_path, "w") as f:
            json.dump(data, f, indent=4)

    def log(self, name, val):
        path = os.path.join(self._path, name + ".tsv")
        new = not os.path.exists(path)
        with open(path, "a") as f:  # text mode, csv's "\r\n" kept as is
            writer = csv.DictWriter(f, ["timestamp", "step", name], delimiter="\t")
            if new:
                writer.writeheader()
            writer.writerow({"timestamp": int(time.time() * 1000), "step": self._step, name: val})
        self._metrics[name] = val
        if self._summary:
            self.make_summary()

    def next_step(self):
        if self._summary:
            self.make_summary()
        if self._html:
            make_html()
        make_checkpoint()
        self._step += 1


def read_params(path="params.yaml"):
    """Top-level `key: number` lines of a block YAML file (enough for these tests)."""
    params = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].rstrip()
            if not line or line[0] in " -" or ":" not in line:
                continue
            key, value = (s.strip() for s in line.split(":", 1))
            for conv in (int, float):
                try:
                    params[key] = conv(value)
                    break
                except ValueError:
                    pass
            else:
                params[key] = value
    return params


def main():
    params = read_params()
    epochs = int(params.get("epochs", 5))
    lr = float(params.get("lr", 0.001))
    live = Live()
    for step in range(live.get_step(), epochs):
        with open("model.pt.tmp", "wb") as f:
            f.write(("step=%d lr=%r\n" % (step, lr)).encode())
            f.write(bytes((step * 31 + i) % 256 for i in range(512)))
        os.replace("model.pt.tmp", "model.pt")
        with open("predictions.json", "w") as f:
            json.dump([{"actual": step % 10, "predicted": (step + 1) % 10}], f)
        loss = 1.0 / (step + 1) + lr
        print("Epoch %d: loss=%s" % (step + 1, loss), flush=True)
        live.log("loss", loss)
        live.log("acc", 1.0 - loss / 2)
        live.next_step()


if __name__ == "__main__":
    main()
