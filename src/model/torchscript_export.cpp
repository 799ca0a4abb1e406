#include "greedyhash/model/torchscript_export.h"

#include <ATen/ATen.h>

#include <memory>
#include <sstream>
#include <string>

#include "greedyhash/model/vgg.h"
#include "greedyhash/serialize/atomic_file.h"

namespace greedyhash {

namespace {

// The forward pass of each backbone and of GreedyHashImpl in eval mode, op for op (the
// same ATen kernels, so the results agree to rounding). Sequential children are reached
// with getattr because "0" is not an identifier.
constexpr const char* kAlexNetFeatures = R"JIT(
    f0 = getattr(self.features, "0")
    f3 = getattr(self.features, "3")
    f6 = getattr(self.features, "6")
    f8 = getattr(self.features, "8")
    f10 = getattr(self.features, "10")
    x = torch.relu(torch.conv2d(x, f0.weight, f0.bias, [4, 4], [2, 2]))
    x = torch.max_pool2d(x, [3, 3], [2, 2])
    x = torch.relu(torch.conv2d(x, f3.weight, f3.bias, [1, 1], [2, 2]))
    x = torch.max_pool2d(x, [3, 3], [2, 2])
    x = torch.relu(torch.conv2d(x, f6.weight, f6.bias, [1, 1], [1, 1]))
    x = torch.relu(torch.conv2d(x, f8.weight, f8.bias, [1, 1], [1, 1]))
    x = torch.relu(torch.conv2d(x, f10.weight, f10.bias, [1, 1], [1, 1]))
    x = torch.max_pool2d(x, [3, 3], [2, 2])
    x = torch.flatten(torch.adaptive_avg_pool2d(x, [6, 6]), 1)
    c1 = getattr(self.classifier, "1")
    c4 = getattr(self.classifier, "4")
    x = torch.relu(torch.linear(x, c1.weight, c1.bias))
    x = torch.relu(torch.linear(x, c4.weight, c4.bias))
)JIT";

constexpr const char* kHead = R"JIT(
    h = torch.linear(x, self.hash_layer.weight, self.hash_layer.bias)
    codes = torch.where(h >= 0, torch.ones_like(h), torch.full_like(h, -1.0))
    logits = torch.linear(codes, self.code_classifier.weight)
    return codes, logits
)JIT";

// VGG-16, read off the parameter names: a 3 x 3 convolution at each index of features
// with a weight, its ReLU at the next index, and a 2 x 2 max pool at each other index.
std::string vgg16_features(const GreedyHash& model) {
  std::string code;
  const auto parameters = model->named_parameters();
  const auto has_weight = [&](size_t index) {
    return parameters.contains("features." + std::to_string(index) + ".weight");
  };
  const auto& features = static_cast<const Vgg16Impl&>(*model->backbone).features;
  for (size_t index = 0; index < features->size(); ++index) {
    if (has_weight(index)) {
      code += "    f = getattr(self.features, \"" + std::to_string(index) + "\")\n" +
              "    x = torch.relu(torch.conv2d(x, f.weight, f.bias, [1, 1], [1, 1]))\n";
    } else if (index == 0 || !has_weight(index - 1)) {
      code += "    x = torch.max_pool2d(x, [2, 2], [2, 2])\n";
    }
  }
  return code + R"JIT(    x = torch.flatten(torch.adaptive_avg_pool2d(x, [7, 7]), 1)
    c0 = getattr(self.classifier, "0")
    c3 = getattr(self.classifier, "3")
    x = torch.relu(torch.linear(x, c0.weight, c0.bias))
    x = torch.relu(torch.linear(x, c3.weight, c3.bias))
)JIT";
}

// "conv(x) then BatchNorm (eval mode)" for the module path `m` (conv `m.convN`, norm
// `m.bnN`, or a downsample's "0" and "1").
std::string conv_bn(const std::string& input, const std::string& conv, const std::string& bn,
                    int64_t kernel, int64_t stride) {
  const std::string s = std::to_string(stride);
  const std::string p = std::to_string(kernel / 2);
  return "torch.batch_norm(torch.conv2d(" + input + ", " + conv + ".weight, None, [" + s + ", " +
         s + "], [" + p + ", " + p + "]), " + bn + ".weight, " + bn + ".bias, " + bn +
         ".running_mean, " + bn + ".running_var, False, 0.1, 1e-05, True)";
}

// ResNets: the blocks read off the parameter names (conv3 marks a Bottleneck, downsample
// a projected shortcut); the first block of layer2..4 has stride 2, on its 3 x 3
// convolution (conv1 of a BasicBlock, conv2 of a Bottleneck) and on the shortcut.
std::string resnet_features(const GreedyHash& model) {
  const auto parameters = model->named_parameters();
  std::string code = "    x = torch.relu(" + conv_bn("x", "self.conv1", "self.bn1", 7, 2) +
                     ")\n    x = torch.max_pool2d(x, [3, 3], [2, 2], [1, 1])\n";
  for (int layer = 1; layer <= 4; ++layer) {
    for (int block = 0;; ++block) {
      const std::string path = "layer" + std::to_string(layer) + "." + std::to_string(block);
      if (!parameters.contains(path + ".conv1.weight")) break;
      const bool bottleneck = parameters.contains(path + ".conv3.weight");
      const int64_t stride = layer > 1 && block == 0 ? 2 : 1;
      code += "    b = getattr(self.layer" + std::to_string(layer) + ", \"" +
              std::to_string(block) + "\")\n";
      if (bottleneck) {
        code += "    y = torch.relu(" + conv_bn("x", "b.conv1", "b.bn1", 1, 1) + ")\n";
        code += "    y = torch.relu(" + conv_bn("y", "b.conv2", "b.bn2", 3, stride) + ")\n";
        code += "    y = " + conv_bn("y", "b.conv3", "b.bn3", 1, 1) + "\n";
      } else {
        code += "    y = torch.relu(" + conv_bn("x", "b.conv1", "b.bn1", 3, stride) + ")\n";
        code += "    y = " + conv_bn("y", "b.conv2", "b.bn2", 3, 1) + "\n";
      }
      if (parameters.contains(path + ".downsample.0.weight")) {
        code += "    d0 = getattr(b.downsample, \"0\")\n    d1 = getattr(b.downsample, \"1\")\n";
        code += "    x = torch.relu(y + " + conv_bn("x", "d0", "d1", 1, stride) + ")\n";
      } else {
        code += "    x = torch.relu(y + x)\n";
      }
    }
  }
  return code + "    x = torch.flatten(torch.adaptive_avg_pool2d(x, [1, 1]), 1)\n";
}

std::string forward_source(const GreedyHash& model) {
  const std::string name = model->backbone->name();
  std::string features;
  if (name == "alexnet") {
    features = kAlexNetFeatures;
  } else if (name == "vgg16") {
    features = vgg16_features(model);
  } else {
    features = resnet_features(model);
  }
  return "def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:\n"
         "    assert x.dim() == 4 and x.size(1) == 3, \"expected a float batch N x 3 x S x S\"\n" +
         features + kHead;
}

class ModuleBuilder {
 public:
  ModuleBuilder() : unit_(std::make_shared<torch::jit::CompilationUnit>()) {}

  // A module whose class is named after its place in the tree (class names must be
  // unique within the compilation unit).
  torch::jit::Module module(const std::string& path) {
    torch::jit::Module m(c10::QualifiedName("__torch__.greedyhash.export." + path), unit_);
    m.register_attribute("training", c10::BoolType::get(), false);
    return m;
  }

  // The submodule for every dotted prefix of the model's parameter and buffer names.
  void add_tensor(torch::jit::Module& root, const std::string& name, const at::Tensor& value,
                  bool is_buffer) {
    torch::jit::Module parent = root;
    std::string path;
    size_t start = 0;
    for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', start)) {
      const std::string child = name.substr(start, dot - start);
      path += (path.empty() ? "" : "_") + child;
      if (!parent.hasattr(child)) parent.register_module(child, module(path));
      parent = parent.attr(child).toModule();
      start = dot + 1;
    }
    parent.register_parameter(name.substr(start), value.detach().to(at::kCPU).clone(), is_buffer);
  }

 private:
  std::shared_ptr<torch::jit::CompilationUnit> unit_;
};

void save_module(const torch::jit::Module& module, const std::filesystem::path& file) {
  std::ostringstream bytes;
  module.save(bytes);
  write_file_atomically(file, bytes.str());
}

}  // namespace

torch::jit::Module export_torchscript(const GreedyHash& model) {
  ModuleBuilder builder;
  torch::jit::Module root = builder.module("GreedyHash");
  for (const auto& item : model->named_parameters()) {
    builder.add_tensor(root, item.key(), item.value(), /*is_buffer=*/false);
  }
  // BatchNorm's running statistics (num_batches_tracked is not used in eval mode).
  for (const auto& item : model->named_buffers()) {
    if (item.value().is_floating_point()) {
      builder.add_tensor(root, item.key(), item.value(), /*is_buffer=*/true);
    }
  }
  root.register_attribute("bits", c10::IntType::get(), model->bits());
  root.register_attribute("num_classes", c10::IntType::get(), model->num_classes());
  root.define(forward_source(model));
  root.eval();
  return root;
}

void save_torchscript(const GreedyHash& model, const std::filesystem::path& file) {
  save_module(export_torchscript(model), file);
}

torch::jit::Module export_torchscript(const FeatureHasher& model) {
  ModuleBuilder builder;
  torch::jit::Module root = builder.module("FeatureHasher");
  for (const auto& item : model->named_parameters()) {
    builder.add_tensor(root, item.key(), item.value(), /*is_buffer=*/false);
  }
  root.register_attribute("bits", c10::IntType::get(), model->bits());
  root.register_attribute("input_dim", c10::IntType::get(), model->input_dim());
  root.define(R"JIT(
def forward(self, x: Tensor) -> Tensor:
    assert x.dim() == 2 and x.size(1) == self.input_dim, "expected float features N x input_dim"
    h = torch.linear(x, self.hash_layer.weight, self.hash_layer.bias)
    return torch.where(h >= 0, torch.ones_like(h), torch.full_like(h, -1.0))
)JIT");
  root.eval();
  return root;
}

void save_torchscript(const FeatureHasher& model, const std::filesystem::path& file) {
  save_module(export_torchscript(model), file);
}

}  // namespace greedyhash
