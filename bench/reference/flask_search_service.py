#!/usr/bin/python3
"""The search service a PyTorch user would write: Flask + PyTorch, one forward pass per request.

This is the Python side of bench/serve_load.sh. It follows DeepHash-pytorch's demo
(demo/www/app.py): the model is loaded once at start-up, every POST runs its own
forward pass on a batch of one image (no batching across requests), and the server is
Flask's threaded server (Werkzeug; one thread per request, HTTP/1.0, so a connection is
closed after each answer). Differences from the demo, each to make it answer the same
API as greedyhash_serve or to not handicap it: the upload is decoded from memory (the
demo writes it to a file first), the forward pass runs under torch.no_grad(), the codes
are searched in the run's FAISS binary index (faiss.read_index_binary, the same index
greedyhash_serve loads) instead of a numpy Hamming distance, and there is no debug mode.

API (the part of greedyhash_serve's that the load test uses; docs/SERVING.md has all of it):
  POST /search?k=10   body = raw JPEG/PNG bytes ->
      200 {"code": hex, "bits": K, "results": [{"rank", "distance", "id", "path",
           "label"}...], "timing_ms": {"decode", "encode", "search"}}
      400 {"error": ...} for a body that is not a decodable image, or a bad k.
  GET /healthz        200 "ok\n"
Once listening it prints one line to stdout:
  flask_search_service: listening on http://HOST:PORT/ (N items, K-bit codes)

The run: the index sidecar (<index>.json) names the checkpoint, the item paths, the
labels and class names. The checkpoint (greedyhash's .pt, readable by torch.load: a
state dict whose names are torchvision's, plus "backbone", "bit", "input_size",
"num_classes", "config") is loaded into GreedyHashNet of greedyhash_reference.py (AlexNet,
VGG or ResNet backbone, hash layer, code classifier). code = sign(hash layer) with
sign(0) = +1, bit j of the code -> bit (j % 8) of byte j // 8 (np.packbits(bitorder=
"little"); a K that is not a multiple of 8 is padded with zero bits, as greedyhash_index
pads the database codes), then index.search. "code" is those bytes in hex, byte 0 first,
as greedyhash_serve and greedyhash_search print it.

Preprocessing, as the demo: PIL Image.open(...).convert("RGB"), transforms.Resize(S)
(shorter side -> S, bilinear with PIL's antialiasing), ToTensor, ImageNet Normalize, with
S = the run's input size; plus CenterCrop(S), which the demo lacks and greedyhash's
path has: a non-square upload becomes the same centred S x S square (for a square image
it changes nothing). Runs of list data sets (config "dataset": "list") are resized to
round_up(S * 256 / 224) and centre-cropped to S, as greedyhash does for them.
How greedyhash_serve's path differs (src/data/image_decoding.cpp, device_transform.h):
  * it decodes with OpenCV (cv::imdecode, EXIF orientation ignored, as PIL here) and
    resizes with cv::resize on uint8: INTER_AREA when shrinking, INTER_LINEAR when
    enlarging. PIL's bilinear filter is the same triangle filter when enlarging but
    rounds differently (PIL to uint8 after each of its two passes, OpenCV once in fixed
    point), and when shrinking it averages over the scaled support, close to but not
    equal to INTER_AREA. Pixels can differ by a level or so, and a code bit whose
    hash-layer output is near 0 can flip.
  * the longer side's scaled length: OpenCV's path rounds (lround), torchvision 0.14
    truncates, so for some aspect ratios the crop window moves by one pixel.
  * images already S x S are resized by neither: the model input is then the same up to
    float rounding.
  * greedyhash_serve batches concurrent uploads (one forward pass for many requests).
  * bf16: both cast the weights to bfloat16 once at start-up (here model.to(torch.bfloat16),
    what a PyTorch user does for one-image inference; torch.autocast would cast the 57 M
    fp32 AlexNet weights again in every forward pass: 205 ms per 224 px image instead of
    8-11 ms). greedyhash_serve then runs under autocast (its fully connected layers
    accumulate in float32); results differ in rounding only.
Measured (2-core AMD EPYC, 30 query images: CIFAR-10 32x32 JPEGs and resized JPEG/PNG
uploads from 48x48 to 1024x300; a 48-bit 224 px AlexNet run, 200 indexed images;
codes compared with greedyhash_search --image on the same index): fp32, 27 of 30 codes
identical, 3 differing in 1 bit of 48 each (all enlarged uploads); bf16 (greedyhash_search
--precision bf16 vs --precision bf16 here), 28 of 30 identical, 2 differing in 1 bit.
Where the codes agree, the ranked ids agree too, ties included. The 12-bit 64 px e2e run
gave 34 of 34 identical, but that model gives every image the same code.

Run it with Debian's Python (PyTorch 1.13, Flask 2.2):
  /usr/bin/python3 bench/reference/flask_search_service.py --index RUN/database.faiss \
      --port 8081 --threads $(nproc) [--precision bf16] [--channels-last]
bench/serve_load.sh runs it with greedyhash_serve's thread count and precision, under
jemalloc (bench/reference/allocator.sh) and under glibc malloc.
"""

import argparse
import io
import json
import os
import signal
import sys
import time

import faiss
import numpy as np
import torch
from flask import Flask, jsonify, request
from PIL import Image, UnidentifiedImageError
from torchvision import transforms
from werkzeug.serving import make_server

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from greedyhash_reference import GreedyHashNet  # noqa: E402

MAX_K = 1000


def log(message):
    print(message, file=sys.stderr, flush=True)


def load_sidecar(index_path):
    sidecar_path = index_path + ".json"
    with open(sidecar_path) as f:
        sidecar = json.load(f)
    for key in ("checkpoint", "items", "bits"):
        if key not in sidecar:
            sys.exit(f"{sidecar_path}: no \"{key}\"; rebuild the index with greedyhash_index")
    checkpoint = sidecar["checkpoint"]
    if not os.path.isabs(checkpoint):
        checkpoint = os.path.join(os.path.dirname(os.path.abspath(index_path)), checkpoint)
    sidecar["checkpoint"] = checkpoint
    return sidecar


def load_model(checkpoint_path, index_path):
    """GreedyHashNet with the checkpoint's weights, and the run's config."""
    saved = torch.load(checkpoint_path, map_location="cpu")
    state = {k: v for k, v in saved.items() if isinstance(v, torch.Tensor)}
    config = {}
    if isinstance(saved.get("config"), str):
        config = json.loads(saved["config"])
    else:
        run_config = os.path.join(os.path.dirname(os.path.abspath(index_path)), "config.json")
        if os.path.exists(run_config):
            with open(run_config) as f:
                config = json.load(f)
    backbone = saved.get("backbone", config.get("backbone", "alexnet"))
    bit = int(saved.get("bit", state["hash_layer.weight"].shape[0]))
    num_classes = int(saved.get("num_classes", state["code_classifier.weight"].shape[0]))
    input_size = int(saved.get("input_size", config.get("input_size", 224)))
    if config.get("features"):
        sys.exit(f"{checkpoint_path}: a --features (embedding) run; this service encodes images")
    model = GreedyHashNet(bit, num_classes, backbone=backbone)
    model.load_state_dict(state)
    model.eval()
    return model, backbone, bit, input_size, config.get("dataset", "")


def make_transform(input_size, dataset):
    stored = (input_size * 256 + 223) // 224 if dataset == "list" else input_size
    return transforms.Compose([
        transforms.Resize(stored),
        transforms.CenterCrop(input_size),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])


def create_app(index_path, precision="fp32", channels_last=False):
    sidecar = load_sidecar(index_path)
    model, backbone, bit, input_size, dataset = load_model(sidecar["checkpoint"], index_path)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    model = model.to(dtype)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if bit != int(sidecar["bits"]):
        sys.exit(f"{index_path}: {sidecar['bits']}-bit index, checkpoint has {bit}-bit codes")
    index = faiss.read_index_binary(index_path)
    items = sidecar["items"]
    if index.ntotal != len(items):
        sys.exit(f"{index_path}: {index.ntotal} codes, sidecar lists {len(items)} items")
    class_names = sidecar.get("class_names") or []
    labels = sidecar.get("labels")
    label_text = None
    if labels and class_names:
        label_text = [",".join(class_names[c] for c in row) for row in labels]
    transform = make_transform(input_size, dataset)
    log(f"flask_search_service: {backbone}, {bit}-bit codes, {input_size} px input, "
        f"{len(items)} items, {precision}{', channels-last' if channels_last else ''}, "
        f"checkpoint {sidecar['checkpoint']}")

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 20 * 1024 * 1024

    def error(status, message):
        response = jsonify({"error": message})
        response.status_code = status
        return response

    @app.route("/healthz")
    def healthz():
        return "ok\n", 200, {"Content-Type": "text/plain"}

    @app.route("/search", methods=["POST"])
    def search():
        k_text = request.args.get("k", "10")
        try:
            k = int(k_text)
        except ValueError:
            return error(400, f"k must be a whole number, got {k_text!r}")
        if k < 1 or k > MAX_K:
            return error(400, f"k must be between 1 and {MAX_K}, got {k}")
        body = request.get_data()
        if not body:
            return error(400, "empty body: send the image bytes")
        start = time.perf_counter()
        try:
            image = Image.open(io.BytesIO(body)).convert("RGB")
            x = transform(image).unsqueeze(0)
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
            return error(400, f"cannot decode image: {str(e).splitlines()[0] if str(e) else e}")
        decoded = time.perf_counter()
        x = x.to(dtype)
        if channels_last:
            x = x.to(memory_format=torch.channels_last)
        with torch.no_grad():
            h, _, _ = model(x)
        bits = (h[0] >= 0).numpy()  # sign with sign(0) = +1, as 0/1
        code = np.packbits(bits, bitorder="little")  # zero-padded to whole bytes
        encoded = time.perf_counter()
        distances, ids = index.search(code.reshape(1, -1), min(k, index.ntotal))
        searched = time.perf_counter()
        results = []
        for rank, (d, i) in enumerate(zip(distances[0].tolist(), ids[0].tolist()), start=1):
            if i < 0:
                break
            entry = {"rank": rank, "distance": int(d), "id": int(i), "path": items[i]}
            if label_text is not None:
                entry["label"] = label_text[i]
            results.append(entry)
        return jsonify({
            "code": code.tobytes().hex(),
            "bits": bit,
            "results": results,
            "timing_ms": {"decode": (decoded - start) * 1e3, "encode": (encoded - decoded) * 1e3,
                          "search": (searched - encoded) * 1e3},
        })

    return app, len(items), bit


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", required=True, help="RUN/database.faiss of greedyhash_index")
    parser.add_argument("--port", type=int, default=8081, help="0: any free port")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch.set_num_threads (0: PyTorch's default)")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="bf16: weights and input in bfloat16 (model.to(torch.bfloat16)); "
                             "not torch.autocast, which casts the fp32 weights again in every "
                             "forward pass: 205 ms instead of 8-11 ms per image for AlexNet")
    parser.add_argument("--channels-last", action="store_true",
                        help="model and input channels-last (greedyhash's encoder layout)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    app, items, bit = create_app(args.index, args.precision, args.channels_last)
    # app.run(threaded=True) without its banner and reloader: the socket is bound here, so
    # the port of --port 0 is known before the line below says "listening".
    server = make_server(args.bind, args.port, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"flask_search_service: listening on http://{args.bind}:{server.server_port}/ "
          f"({items} items, {bit}-bit codes, {torch.get_num_threads()} torch threads)", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
        print("flask_search_service: stopped", flush=True)


if __name__ == "__main__":
    main()
