# Regenerates the .npy fixtures of tests/io/npy_test.cpp and tests/retrieval/*_test.cpp:
#   cd tests/data/retrieval && /usr/bin/python3 make_fixtures.py      (numpy 1.24.2)
import numpy as np

np.save("u1.npy", np.arange(6, dtype=np.uint8).reshape(2, 3))
np.save("i1.npy", np.array([[-1, 1, -1], [1, 1, -1]], dtype=np.int8))
np.save("i2.npy", np.array([-32768, 5, 32767], dtype=np.int16))
np.save("i4.npy", np.array([-2, 0, 7, 2147483647], dtype=np.int32))
np.save("i8.npy", np.array([[-(2**40), 1], [3, 2**62]], dtype=np.int64))
np.save("f4.npy", np.array([[0.5, -1.25, 3.0]], dtype=np.float32))
np.save("f8.npy", np.array([[1e-300, -2.5], [np.pi, 0.0]], dtype=np.float64))
np.save("b1.npy", np.array([True, False, True]))
np.save("f8_scalar.npy", np.float64(2.5))
np.save("u1_empty.npy", np.zeros((0, 4), dtype=np.uint8))
np.save("f4_wide_first_dim.npy", np.zeros((123456789012, 0), dtype=np.float32))
# Files load_npy must refuse.
np.save("fortran.npy", np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)))
np.save("big_endian.npy", np.arange(3, dtype=">i4"))
np.save("f2.npy", np.arange(3, dtype=np.float16))
# Codes: +-1 rows and the same codes packed as FAISS does (bit j -> byte j // 8,
# bit j % 8, least significant first), for one-word and multi-word lengths.
rng = np.random.default_rng(7)
for bits in (13, 70):
    pm1 = np.where(rng.random((5, bits)) < 0.5, -1, 1).astype(np.int8)
    np.save(f"codes{bits}_pm1.npy", pm1)
    np.save(f"codes{bits}_packed.npy", np.packbits(pm1 > 0, axis=1, bitorder="little"))
np.save("labels.npy", np.array([[1, 0, 0], [0, 1, 1], [0, 0, 0], [1, 1, 1]], dtype=np.uint8))
