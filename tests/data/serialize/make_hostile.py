# Regenerates the hostile torch.save files of tests/serialize/hostile_torch_save_test.cpp and
# tests/e2e/e2e_test.cpp with Python's own torch.save (torch 1.13):
#   /usr/bin/python3 tests/data/serialize/make_hostile.py
import os

import torch

here = os.path.dirname(os.path.abspath(__file__))
d = {}
d["self"] = d  # a dict that contains itself: pickled once, referred to through the memo
torch.save(d, os.path.join(here, "self_containing.pt"))
torch.save(d, os.path.join(here, "self_containing_legacy.pt"), _use_new_zipfile_serialization=False)
