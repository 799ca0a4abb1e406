#pragma once

#include "greedyhash/data/feature_set.h"
#include "greedyhash/data/run_data.h"
#include "greedyhash/io/config.h"
#include "greedyhash/io/run_files.h"
#include "greedyhash/train/trainer.h"

namespace spdlog {
class logger;
}

namespace greedyhash {

// config.method "unsupervised" (docs/PROTOCOL.md section 7). Both write into the run
// folder, after every epoch, metrics.jsonl and last.pt (selection "last epoch": no test
// images choose the epoch), and remove an earlier run's best.pt and resume states first.
// They do not resume (--resume): an epoch on cached features takes seconds.

// On images: the frozen backbone's features of the training images are computed once
// (encode_backbone_features, eval mode) and kept in memory; the epochs train
// hash_layer on them, with config.feature_dropout (default 0.5) applied to each batch as
// the official code's VGG-16 applies it after fc7 in train mode. last.pt is the whole
// model's checkpoint, so every app uses the run as a supervised one (its code classifier
// stays as initialised: the method has none).
TrainingSummary train_unsupervised_on_images(const Config& config, const RunData& data,
                                             const RunFiles& files, spdlog::logger& log);

// On an embedding folder (config.features): a FeatureHasher trained on folder.train;
// last.pt is its checkpoint (model/feature_hasher.h).
TrainingSummary train_unsupervised_on_features(const Config& config, const FeatureFolder& folder,
                                               const RunFiles& files, spdlog::logger& log);

// greedyhash::Error unless `config` is a valid combination for its method: unsupervised on
// images needs a frozen backbone; --features needs the unsupervised method; neither
// resumes.
void check_method(const Config& config, bool resume);

}  // namespace greedyhash
