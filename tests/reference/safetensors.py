"""A tiny reader and writer of the safetensors format for numpy arrays.

Layout: an 8-byte little-endian header length N, then N bytes of JSON,

    {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
     "__metadata__": {"key": "value"}}

then the data region; offsets are relative to the start of the data region.
The header is padded with spaces so that the data starts 8-byte aligned, as
the reference implementation does. Only the standard library and numpy.

    save(path, {"x": array, ...}, metadata=None)
    load(path) -> {"x": array, ...}              (in file order)
    load_with_metadata(path) -> (tensors, metadata)
"""

import json
import struct

import numpy as np

# safetensors dtype name <-> little-endian numpy dtype.
_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NAMES = {
    np.dtype("float64"): "F64",
    np.dtype("float32"): "F32",
    np.dtype("float16"): "F16",
    np.dtype("int64"): "I64",
    np.dtype("int32"): "I32",
    np.dtype("int16"): "I16",
    np.dtype("int8"): "I8",
    np.dtype("uint8"): "U8",
    np.dtype("bool"): "BOOL",
}

_MAX_HEADER = 100 * 1024 * 1024


class SafeTensorsError(ValueError):
    pass


def _as_numpy(value):
    """Accepts numpy arrays, numpy scalars and (duck-typed) torch tensors."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def dumps(tensors, metadata=None):
    """Serializes a mapping name -> array to bytes."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks = []
    offset = 0
    for name, value in tensors.items():
        if name == "__metadata__":
            raise SafeTensorsError("'__metadata__' cannot name a tensor")
        array = _as_numpy(value)
        if array.dtype not in _NAMES:
            raise SafeTensorsError(
                "tensor '%s': unsupported dtype %s" % (name, array.dtype))
        dtype_name = _NAMES[array.dtype]
        data = np.ascontiguousarray(array, dtype=_DTYPES[dtype_name]).tobytes()
        header[name] = {
            "dtype": dtype_name,
            "shape": [int(d) for d in array.shape],
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save(path, tensors, metadata=None):
    """Writes a mapping name -> array (numpy or torch) to `path`."""
    with open(path, "wb") as f:
        f.write(dumps(tensors, metadata))


def loads_with_metadata(blob):
    """Parses bytes; returns ({name: array}, {key: value})."""
    if len(blob) < 8:
        raise SafeTensorsError("not a safetensors file: %d bytes" % len(blob))
    (length,) = struct.unpack("<Q", blob[:8])
    if length > _MAX_HEADER or 8 + length > len(blob):
        raise SafeTensorsError("bad header length %d for %d bytes"
                               % (length, len(blob)))
    try:
        header = json.loads(blob[8:8 + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SafeTensorsError("invalid JSON header: %s" % e)
    if not isinstance(header, dict):
        raise SafeTensorsError("the JSON header is not an object")
    data = memoryview(blob)[8 + length:]
    metadata = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, entry in header.items():
        try:
            dtype = _DTYPES[entry["dtype"]]
            shape = tuple(int(d) for d in entry["shape"])
            begin, end = (int(o) for o in entry["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise SafeTensorsError("tensor '%s': malformed entry %r"
                                   % (name, entry))
        count = int(np.prod(shape, dtype=np.int64))
        if not 0 <= begin <= end <= len(data) or \
                end - begin != count * dtype.itemsize:
            raise SafeTensorsError(
                "tensor '%s': data_offsets [%d, %d] do not hold %s %s "
                "(data region: %d bytes)" % (name, begin, end, entry["dtype"],
                                             list(shape), len(data)))
        array = np.frombuffer(data[begin:end], dtype=dtype, count=count)
        if dtype == np.dtype("?"):
            raw = np.frombuffer(data[begin:end], dtype=np.uint8, count=count)
            if raw.size and raw.max() > 1:
                bad = int(np.argmax(raw > 1))
                raise SafeTensorsError(
                    "tensor '%s' %s: BOOL element %d is byte %d, not 0 or 1 "
                    "(first bytes: %s)" % (name, list(shape), bad, raw[bad],
                                           raw[:16].tolist()))
        # Native byte order, writable, owning its memory.
        tensors[name] = array.astype(dtype.newbyteorder("="),
                                     copy=True).reshape(shape)
    return tensors, metadata


def loads(blob):
    return loads_with_metadata(blob)[0]


def load_with_metadata(path):
    with open(path, "rb") as f:
        return loads_with_metadata(f.read())


def load(path):
    """Reads `path`; returns {name: numpy array} in file order."""
    return load_with_metadata(path)[0]


if __name__ == "__main__":
    # Self-test: a round trip of every dtype, rank 0 and empty tensors.
    import os
    import tempfile

    rng = np.random.default_rng(0)
    sample = {
        "f64": rng.standard_normal((2, 3)),
        "f32": rng.standard_normal((5,)).astype(np.float32),
        "i64": np.arange(7, dtype=np.int64) - 3,
        "i32": np.array(-5, dtype=np.int32),
        "bool": np.array([[True, False, True]]),
        "u8": np.arange(3, dtype=np.uint8),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.safetensors")
        save(path, sample, metadata={"format": "np"})
        back, meta = load_with_metadata(path)
        with open(path, "rb") as f:
            blob = f.read()
        (n,) = struct.unpack("<Q", blob[:8])
        assert (8 + n) % 8 == 0, "data region not aligned"
    assert meta == {"format": "np"}
    assert list(back) == list(sample)
    for k, v in sample.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape, k
        assert np.array_equal(back[k], v), k
    print("safetensors.py: self-test passed")
