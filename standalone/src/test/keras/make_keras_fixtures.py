#!/usr/bin/env python3
"""Make small Keras-layout HDF5 model fixtures without TensorFlow or Keras.

Usage:  python3 make_keras_fixtures.py OUT_DIR

For every fixture NAME this writes

  OUT_DIR/NAME.h5    the model, laid out as Keras 2.x (TF 2.x backend) writes it
                     with ``model.save(path, save_format="h5")``: root attributes
                     ``keras_version``, ``backend`` and ``model_config`` (the Keras
                     JSON), and the group ``model_weights`` holding one group per
                     layer with a ``weight_names`` attribute and the datasets
                     ``model_weights/<layer>/<layer>/kernel:0`` and so on.
  OUT_DIR/NAME.json  what a test needs to check an import of that file: the input
                     shape [H, W, C] (channels_last), the label count, the Keras
                     layer names, the name of the last hidden Dense layer, six
                     probe images as uint8 [H][W][C] lists, and the softmax outputs
                     that this script's own float64 numpy forward pass gives for
                     them (input scaled as x = uint8 / 255.0).

Only numpy and h5py are needed (Debian: python3-numpy, python3-h5py). Weights are
random but fixed by a per-fixture seed, so the output is the same on every run.
The last Dense layer's bias is centred on the probes (so the predicted label
varies between images) and the layer is scaled so that the per-image top
probabilities are spread out, neither near-uniform nor one-hot; the script refuses
to write a fixture for which that does not hold.
"""

import json
import os
import sys

try:
    import h5py
    import numpy as np
except ImportError:
    # e.g. a pyenv/venv python3 first on PATH while h5py came from Debian's
    # python3-h5py: run again under the system interpreter that has it.
    _system = "/usr/bin/python3"
    if os.path.exists(_system) and os.path.realpath(sys.executable) != os.path.realpath(_system) \
            and not os.environ.get("MAKE_KERAS_FIXTURES_REEXEC"):
        os.environ["MAKE_KERAS_FIXTURES_REEXEC"] = "1"
        os.execv(_system, [_system] + sys.argv)
    raise

KERAS_VERSION = "2.11.0"
BACKEND = "tensorflow"
N_PROBES = 6
# Bounds that every row's top softmax probability must meet, and the spread
# required between the most and the least confident probe. Calibration aims a
# little inside the bounds.
MIN_TOP, MAX_TOP, MIN_SPREAD = 0.2, 0.95, 0.25
CAL_MIN_TOP, CAL_MAX_TOP = 0.25, 0.92


# ---------------------------------------------------------------------------
# Keras layer configs (as tf.keras 2.11 get_config() writes them)
# ---------------------------------------------------------------------------

def _glorot():
    return {"class_name": "GlorotUniform", "config": {"seed": None}}


def _init(name):
    return {"class_name": name, "config": {}}


def _base(name, batch_input_shape=None):
    cfg = {"name": name, "trainable": True}
    if batch_input_shape is not None:
        cfg["batch_input_shape"] = [None] + list(batch_input_shape)
    cfg["dtype"] = "float32"
    return cfg


def input_layer(name, shape):
    return {"class_name": "InputLayer",
            "config": {"batch_input_shape": [None] + list(shape), "dtype": "float32",
                       "sparse": False, "ragged": False, "name": name}}


def conv2d(name, filters, kernel, padding, activation, batch_input_shape=None):
    cfg = _base(name, batch_input_shape)
    cfg.update({"filters": filters, "kernel_size": [kernel, kernel], "strides": [1, 1],
                "padding": padding, "data_format": "channels_last", "dilation_rate": [1, 1],
                "groups": 1, "activation": activation, "use_bias": True,
                "kernel_initializer": _glorot(), "bias_initializer": _init("Zeros"),
                "kernel_regularizer": None, "bias_regularizer": None,
                "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None})
    return {"class_name": "Conv2D", "config": cfg}


def pool2d(class_name, name, size=2):
    cfg = _base(name)
    cfg.update({"pool_size": [size, size], "padding": "valid", "strides": [size, size],
                "data_format": "channels_last"})
    return {"class_name": class_name, "config": cfg}


def flatten(name):
    cfg = _base(name)
    cfg["data_format"] = "channels_last"
    return {"class_name": "Flatten", "config": cfg}


def dense(name, units, activation):
    cfg = _base(name)
    cfg.update({"units": units, "activation": activation, "use_bias": True,
                "kernel_initializer": _glorot(), "bias_initializer": _init("Zeros"),
                "kernel_regularizer": None, "bias_regularizer": None,
                "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None})
    return {"class_name": "Dense", "config": cfg}


def batch_norm(name, epsilon):
    cfg = _base(name)
    cfg.update({"axis": [3], "momentum": 0.99, "epsilon": epsilon, "center": True, "scale": True,
                "beta_initializer": _init("Zeros"), "gamma_initializer": _init("Ones"),
                "moving_mean_initializer": _init("Zeros"),
                "moving_variance_initializer": _init("Ones"),
                "beta_regularizer": None, "gamma_regularizer": None,
                "beta_constraint": None, "gamma_constraint": None})
    return {"class_name": "BatchNormalization", "config": cfg}


def add(name):
    return {"class_name": "Add", "config": _base(name)}


def activation(name, fn):
    cfg = _base(name)
    cfg["activation"] = fn
    return {"class_name": "Activation", "config": cfg}


def global_avg_pool(name):
    cfg = _base(name)
    cfg.update({"data_format": "channels_last", "keepdims": False})
    return {"class_name": "GlobalAveragePooling2D", "config": cfg}


def sequential_config(model_name, input_shape, layers):
    """Sequential.get_config(): the InputLayer comes first in "layers"."""
    first = layers[0]["config"]["name"]
    all_layers = [input_layer(first + "_input", input_shape)] + layers
    return {"class_name": "Sequential", "config": {"name": model_name, "layers": all_layers}}


def functional_config(model_name, layers, inbound, inputs, outputs):
    """Functional.get_config(): each layer carries its name and inbound_nodes."""
    out = []
    for layer in layers:
        name = layer["config"]["name"]
        srcs = inbound.get(name, [])
        nodes = [[[src, 0, 0, {}] for src in srcs]] if srcs else []
        out.append({"class_name": layer["class_name"], "config": layer["config"],
                    "name": name, "inbound_nodes": nodes})
    return {"class_name": "Functional",
            "config": {"name": model_name, "layers": out,
                       "input_layers": [[n, 0, 0] for n in inputs],
                       "output_layers": [[n, 0, 0] for n in outputs]}}


# ---------------------------------------------------------------------------
# numpy forward pass (float64, channels_last, one image [H, W, C] at a time)
# ---------------------------------------------------------------------------

def np_conv2d(x, kernel, bias, padding):
    kh, kw, cin, cout = kernel.shape
    if padding == "same":  # odd kernels only: equal padding on both sides
        ph, pw = (kh - 1) // 2, (kw - 1) // 2
        x = np.pad(x, ((ph, ph), (pw, pw), (0, 0)))
    h, w = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.zeros((h, w, cout))
    for i in range(kh):  # cross-correlation, no kernel flip
        for j in range(kw):
            out += x[i:i + h, j:j + w, :] @ kernel[i, j]
    return out + bias


def np_pool(x, size, mode):
    h, w = x.shape[0] // size, x.shape[1] // size
    blocks = x[:h * size, :w * size, :].reshape(h, size, w, size, x.shape[2])
    return blocks.max(axis=(1, 3)) if mode == "max" else blocks.mean(axis=(1, 3))


def relu(x):
    return np.maximum(x, 0.0)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


# ---------------------------------------------------------------------------
# weights and probe images
# ---------------------------------------------------------------------------

def conv_weights(rng, k, cin, cout):
    fan_in = k * k * cin
    kernel = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(k, k, cin, cout))
    bias = rng.uniform(-0.05, 0.1, size=cout)
    return kernel, bias


def dense_weights(rng, nin, nout):
    kernel = rng.normal(0.0, np.sqrt(2.0 / nin), size=(nin, nout))
    bias = rng.uniform(-0.05, 0.1, size=nout)
    return kernel, bias


def probe_images(rng, h, w, c):
    """Six visibly different uint8 images [H, W, C]."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    chan = np.arange(c, dtype=np.float64)
    imgs = []
    # 0: horizontal gradient, channels phase-shifted
    imgs.append(((xx[..., None] / max(w - 1, 1) + chan / 3.0) % 1.0) * 255.0)
    # 1: checkerboard of 4-pixel squares
    board = (((yy // 4) + (xx // 4)) % 2)[..., None] * np.ones(c)
    imgs.append(board * 230.0 + 10.0)
    # 2: uniform noise
    imgs.append(rng.uniform(0, 255, size=(h, w, c)))
    # 3: bright disc on dark ground, tinted per channel
    disc = (((yy - h / 2.0) ** 2 + (xx - w / 2.0) ** 2) < (min(h, w) / 3.0) ** 2)
    imgs.append(disc[..., None] * (255.0 - 60.0 * chan) + 20.0)
    # 4: diagonal stripes
    stripes = (np.sin((xx + yy) * 0.9)[..., None] + np.cos(chan)) * 0.5 + 0.5
    imgs.append(np.clip(stripes, 0.0, 1.0) * 255.0)
    # 5: dark image with a bright square in the top-left corner
    dark = np.full((h, w, c), 15.0)
    dark[: h // 3, : w // 3, :] = 250.0
    imgs.append(dark)
    return [np.clip(np.rint(im), 0, 255).astype(np.uint8) for im in imgs]


def calibrate(logits):
    """Pick a factor for the last layer so the top probabilities are spread out.

    logits: [N, labels] from the unscaled last layer. Returns the factor.
    """
    best = None
    for scale in np.geomspace(0.01, 100.0, 801):
        probs = np.array([softmax(scale * z) for z in logits])
        top = probs.max(axis=1)
        if top.min() < CAL_MIN_TOP or top.max() > CAL_MAX_TOP:
            continue
        spread = top.max() - top.min()
        if best is None or spread > best[0]:
            best = (spread, scale)
    if best is None or best[0] < MIN_SPREAD:
        raise SystemExit("cannot calibrate the last layer: top probabilities of %s"
                         % np.round(np.array([softmax(z) for z in logits]).max(axis=1), 3))
    return best[1]


# ---------------------------------------------------------------------------
# HDF5 writing, Keras layout
# ---------------------------------------------------------------------------

def write_h5(path, model_config, layer_names, weights):
    """weights: {layer_name: [(param_name, array), ...]} in Keras weight order.

    layer_names: every layer of model.layers (a Functional model's InputLayer
    included, a Sequential model's not), in model order.
    """
    with h5py.File(path, "w") as f:
        # Keras stores str values as they are (variable-length) and JSON as UTF-8 bytes.
        f.attrs["keras_version"] = KERAS_VERSION
        f.attrs["backend"] = BACKEND
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [n.encode("utf8") for n in layer_names]
        g.attrs["backend"] = BACKEND.encode("utf8")
        g.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
        # Keras creates the layer groups sorted by name.
        for name in sorted(layer_names):
            lg = g.create_group(name)
            params = weights.get(name, [])
            names = [("%s/%s:0" % (name, p)).encode("utf8") for p, _ in params]
            # Keras writes np.asarray([]) (float64, shape (0,)) for a weightless layer.
            lg.attrs["weight_names"] = names if names else np.asarray([])
            for wname, (_, value) in zip(names, params):
                lg.create_dataset(wname.decode("utf8"), data=np.asarray(value, dtype=np.float32))
        top = g.create_group("top_level_model_weights")
        top.attrs["weight_names"] = np.asarray([])


def f32(a):
    """Round to float32 and back: the stored weights are float32, so the numpy
    forward pass uses exactly the stored values."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------

def build_seq_grey():
    name, shape, labels = "seq_grey", (28, 28, 1), 10
    rng = np.random.default_rng(1001)
    k1, b1 = conv_weights(rng, 3, 1, 4)
    flat = 13 * 13 * 4
    k2, b2 = dense_weights(rng, flat, 16)
    k3, b3 = dense_weights(rng, 16, labels)
    k1, b1, k2, b2, k3, b3 = map(f32, (k1, b1, k2, b2, k3, b3))
    images = probe_images(rng, *shape)

    def hidden(img):
        x = img.astype(np.float64) / 255.0
        x = relu(np_conv2d(x, k1, b1, "valid"))
        x = np_pool(x, 2, "max")
        x = x.reshape(-1)  # channels_last flatten: H, W, C order
        return relu(x @ k2 + b2)

    def weights_for(k_out, b_out):
        return {"conv1": [("kernel", k1), ("bias", b1)],
                "fc": [("kernel", k2), ("bias", b2)],
                "predictions": [("kernel", k_out), ("bias", b_out)]}

    layers = [conv2d("conv1", 4, 3, "valid", "relu", batch_input_shape=shape),
              pool2d("MaxPooling2D", "pool1"), flatten("flatten"),
              dense("fc", 16, "relu"), dense("predictions", labels, "softmax")]
    config = sequential_config("sequential", shape, layers)
    names = [l["config"]["name"] for l in layers]
    return name, shape, labels, names, "fc", config, names, images, hidden, (k3, b3), weights_for


def build_func_rgb():
    name, shape, labels = "func_rgb", (32, 32, 3), 5
    rng = np.random.default_rng(2002)
    k1, b1 = conv_weights(rng, 3, 3, 8)
    gamma = rng.uniform(0.6, 1.6, size=8)
    beta = rng.uniform(-0.3, 0.3, size=8)
    mean = rng.uniform(0.0, 0.5, size=8)
    var = rng.uniform(0.05, 0.6, size=8)
    eps = 1e-3
    k2, b2 = conv_weights(rng, 3, 8, 8)
    k3, b3 = dense_weights(rng, 8, 16)
    k4, b4 = dense_weights(rng, 16, labels)
    k1, b1, gamma, beta, mean, var, k2, b2, k3, b3, k4, b4 = map(
        f32, (k1, b1, gamma, beta, mean, var, k2, b2, k3, b3, k4, b4))
    images = probe_images(rng, *shape)

    def hidden(img):
        x = img.astype(np.float64) / 255.0
        c1 = relu(np_conv2d(x, k1, b1, "same"))
        bn = (c1 - mean) / np.sqrt(var + eps) * gamma + beta
        c2 = np_conv2d(bn, k2, b2, "same")
        y = relu(c2 + bn)
        y = np_pool(y, 2, "max")
        y = y.mean(axis=(0, 1))
        return relu(y @ k3 + b3)

    def weights_for(k_out, b_out):
        return {"conv1": [("kernel", k1), ("bias", b1)],
                "bn1": [("gamma", gamma), ("beta", beta),
                        ("moving_mean", mean), ("moving_variance", var)],
                "conv2": [("kernel", k2), ("bias", b2)],
                "fc": [("kernel", k3), ("bias", b3)],
                "predictions": [("kernel", k_out), ("bias", b_out)]}

    layers = [input_layer("input_1", shape),
              conv2d("conv1", 8, 3, "same", "relu"),
              batch_norm("bn1", eps),
              conv2d("conv2", 8, 3, "same", "linear"),
              add("add"),
              activation("relu", "relu"),
              pool2d("MaxPooling2D", "pool"),
              global_avg_pool("gap"),
              dense("fc", 16, "relu"),
              dense("predictions", labels, "softmax")]
    inbound = {"conv1": ["input_1"], "bn1": ["conv1"], "conv2": ["bn1"],
               "add": ["conv2", "bn1"], "relu": ["add"], "pool": ["relu"],
               "gap": ["pool"], "fc": ["gap"], "predictions": ["fc"]}
    config = functional_config("model", layers, inbound, ["input_1"], ["predictions"])
    names = [l["config"]["name"] for l in layers]
    return name, shape, labels, names, "fc", config, names, images, hidden, (k4, b4), weights_for


def build_seq_rgb_small():
    name, shape, labels = "seq_rgb_small", (20, 24, 3), 3
    rng = np.random.default_rng(3003)
    k1, b1 = conv_weights(rng, 5, 3, 6)
    flat = 8 * 10 * 6
    k2, b2 = dense_weights(rng, flat, 12)
    k3, b3 = dense_weights(rng, 12, labels)
    k1, b1, k2, b2, k3, b3 = map(f32, (k1, b1, k2, b2, k3, b3))
    images = probe_images(rng, *shape)

    def hidden(img):
        x = img.astype(np.float64) / 255.0
        x = relu(np_conv2d(x, k1, b1, "valid"))
        x = np_pool(x, 2, "avg")
        x = x.reshape(-1)
        return relu(x @ k2 + b2)

    def weights_for(k_out, b_out):
        return {"conv1": [("kernel", k1), ("bias", b1)],
                "fc": [("kernel", k2), ("bias", b2)],
                "predictions": [("kernel", k_out), ("bias", b_out)]}

    layers = [conv2d("conv1", 6, 5, "valid", "relu", batch_input_shape=shape),
              pool2d("AveragePooling2D", "pool1"), flatten("flatten"),
              dense("fc", 12, "relu"), dense("predictions", labels, "softmax")]
    config = sequential_config("sequential", shape, layers)
    names = [l["config"]["name"] for l in layers]
    return name, shape, labels, names, "fc", config, names, images, hidden, (k3, b3), weights_for


FIXTURES = [build_seq_grey, build_func_rgb, build_seq_rgb_small]


def make_unsupported(out_dir):
    """seq_unsupported.h5: a Sequential model whose first layer is a Rescaling
    (keras.layers.Rescaling), a class DL4J's Keras import does not know: the
    import must refuse it in one line naming the layer and its class."""
    shape = (28, 28, 1)
    rng = np.random.default_rng(4004)
    cfg = _base("rescale", batch_input_shape=shape)
    cfg.update({"scale": 1.0 / 255.0, "offset": 0.0})
    k, b = map(f32, dense_weights(rng, 28 * 28, 10))
    layers = [{"class_name": "Rescaling", "config": cfg}, flatten("flatten"),
              dense("predictions", 10, "softmax")]
    names = [l["config"]["name"] for l in layers]
    write_h5(os.path.join(out_dir, "seq_unsupported.h5"), sequential_config("sequential", shape, layers), names,
             {"predictions": [("kernel", k), ("bias", b)]})
    print("%-14s Rescaling layer (unsupported by the import)" % "seq_unsupported")


def make(builder, out_dir):
    (name, shape, labels, layer_names, penultimate, config, h5_layers,
     images, hidden, (k_out, b_out), weights_for) = builder()
    feats = np.array([hidden(img) for img in images])
    if (feats.max(axis=0) <= 0).all():
        raise SystemExit("%s: every hidden unit is dead" % name)
    # Centre the output bias on the probes so that no label wins every image,
    # pick the scale on the float64 logits, then apply both in float32 (as
    # stored) and compute the expected outputs from the stored values.
    b_out = b_out - (feats @ k_out + b_out).mean(axis=0)
    scale = calibrate(feats @ k_out + b_out)
    k_s, b_s = f32(k_out * scale), f32(b_out * scale)
    probs = np.array([softmax(z) for z in feats @ k_s + b_s])
    top = probs.max(axis=1)
    if top.min() < MIN_TOP or top.max() > MAX_TOP or top.max() - top.min() < MIN_SPREAD:
        raise SystemExit("%s: top probabilities out of range: %s" % (name, top))

    write_h5(os.path.join(out_dir, name + ".h5"), config, h5_layers, weights_for(k_s, b_s))
    meta = {"name": name, "input_shape": list(shape), "labels": labels,
            "layer_names": layer_names, "penultimate": penultimate,
            "images": [img.tolist() for img in images],
            "probabilities": probs.tolist()}
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(meta, f)
    print("%-14s %s  top-prob %s" % (name, "x".join(map(str, shape)),
                                     " ".join("%.3f" % t for t in top)))


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: %s OUT_DIR\n" % argv[0])
        return 2
    out_dir = argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for builder in FIXTURES:
        make(builder, out_dir)
    make_unsupported(out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
