#pragma once

#include <filesystem>
#include <string>

#include "greedyhash/data/dataset_fingerprint.h"
#include "greedyhash/data/split.h"

namespace greedyhash {

// A split as saved with a run: the index lists plus what they were drawn on.
struct SavedSplit {
  Split split;
  DatasetFingerprint fingerprint;
  std::string source;  // free text: where the data came from
};

// Writes the split as JSON through write_file_atomically:
//   {"format": "greedyhash-split", "version": 2, "protocol": "cifar10-1", "seed": 2000,
//    "source": "...", "dataset": {"count": 60000, "checksum": "0123456789abcdef"},
//    "order": "ascending dataset index",
//    "sizes": {"query": 1000, "train": 5000, "database": 59000, "validation": 1000},
//    "query": [...], "train": [...], "database": [...], "validation": [...]}
// Lists are ascending and run-length coded: an element is an index, or [first, last]
// for a run first, first+1, ..., last of 3 or more (a cifar10-1 split is ~50 KB).
void save_split(const std::filesystem::path& path, const Split& split,
                const DatasetFingerprint& fingerprint, const std::string& source_description);

// Reads a file written by save_split for the data set whose fingerprint is `data` (version
// 1, from before validation sets, gives an empty validation list). A split made for other
// data is refused (as check_fingerprint does) before its lists are read: their runs can
// name up to `data.count` indices each, and the file's own count could claim any number.
// Malformed JSON, unknown protocol, lists that are not strictly ascending or disagree with
// "sizes", indices outside the image count, or a validation, query or train list sharing
// an image with another throw greedyhash::Error naming the file.
SavedSplit load_split(const std::filesystem::path& path, const DatasetFingerprint& data);

// Refuses data that differs from the data the split was drawn on: throws
// greedyhash::Error naming `split_file` when the image count or checksum differs.
void check_fingerprint(const std::filesystem::path& split_file, const DatasetFingerprint& recorded,
                       const DatasetFingerprint& actual);

// load_split for `dataset`; returns the split.
Split load_split_for(const std::filesystem::path& path, const ImageDataset& dataset);

}  // namespace greedyhash
