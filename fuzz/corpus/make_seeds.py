# Regenerates the seeds of fuzz/corpus/ that Python makes (torch 1.13, numpy); the JSON and
# list-file seeds are written by hand, zip_state_dict.pt and legacy_state_dict.pt are
# tests/data/model/tiny_state_dict*.pt. Run from the repository root:
#   /usr/bin/python3 fuzz/corpus/make_seeds.py
import collections
import os

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))


def path(*parts):
    return os.path.join(here, *parts)


# torch.save: an optimizer's nested state dict, a Parameter and a tuple, a dict holding itself.
opt = {"state": {0: {"momentum_buffer": torch.ones(2)}},
       "param_groups": [{"lr": 0.1, "momentum": 0.9, "nesterov": False, "params": [0], "name": None}]}
torch.save(opt, path("torch_save", "zip_nested.pt"))
# Legacy files name their storages by id(), so this one differs from run to run.
torch.save(opt, path("torch_save", "legacy_nested.pt"), _use_new_zipfile_serialization=False)
p = collections.OrderedDict(w=torch.nn.Parameter(torch.arange(6, dtype=torch.float16).reshape(2, 3)),
                            t=(1, 2.5, "x"))
torch.save(p, path("torch_save", "zip_parameter.pt"))
d = {}
d["self"] = d
torch.save(d, path("torch_save", "zip_self.pt"))
torch.save(d, path("torch_save", "legacy_self.pt"), _use_new_zipfile_serialization=False)

# .npy: each supported kind, an empty and a 0-d array, format 2.0, and two rejected ones.
np.save(path("npy", "uint8.npy"), np.arange(6, dtype=np.uint8).reshape(2, 3))
np.save(path("npy", "pm1.npy"), np.where(np.arange(24).reshape(2, 12) % 3 == 0, 1, -1).astype(np.int8))
np.save(path("npy", "float32.npy"), np.array([1.5, -2.0], dtype=np.float32))
np.save(path("npy", "bool_scalar.npy"), np.array(True))
np.save(path("npy", "empty.npy"), np.zeros((0, 12), dtype=np.int8))
np.save(path("npy", "fortran.npy"), np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)))
np.save(path("npy", "big_endian.npy"), np.arange(3, dtype=">i4"))
with open(path("npy", "v2.npy"), "wb") as f:
    np.lib.format.write_array(f, np.arange(4, dtype=np.int16), version=(2, 0))
