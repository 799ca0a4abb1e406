# Makes the fixtures (run here with /usr/bin/python3, torch 1.13): tiny_state_dict.pt, a
# state dict with several dtypes, a 0-d tensor and two views sharing one storage (offset
# and stride); tiny_list.pt, a saved list (not a state dict); tiny_state_dict_legacy.pt,
# the same state dict in the pre-1.6 (non-zip) format.
import collections, torch
base = torch.arange(12, dtype=torch.float64).reshape(3, 4)
sd = collections.OrderedDict([("conv.weight", torch.arange(24, dtype=torch.float32).reshape(2, 3, 2, 2) / 8), ("conv.bias", torch.tensor([-1.5, 2.25])), ("fc.weight_t", base.t()), ("fc.row", base[1]), ("steps", torch.tensor(7)), ("mask", torch.tensor([True, False, True]))])
sd._metadata = collections.OrderedDict([("", {"version": 1})])
torch.save(sd, "tiny_state_dict.pt")
torch.save([torch.zeros(2)], "tiny_list.pt")
torch.save(sd, "tiny_state_dict_legacy.pt", _use_new_zipfile_serialization=False)
