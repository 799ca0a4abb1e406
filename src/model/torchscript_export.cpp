#include "greedyhash/model/torchscript_export.h"

#include <ATen/ATen.h>

#include <memory>
#include <sstream>
#include <string>

#include "greedyhash/serialize/atomic_file.h"

namespace greedyhash {

namespace {

// The forward pass of AlexNetImpl and GreedyHashImpl in eval mode, op for op (the same
// ATen kernels, so the results agree to rounding). Sequential children are reached with
// getattr because "0" is not an identifier.
constexpr const char* kForward = R"JIT(
def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
    assert x.dim() == 4 and x.size(1) == 3, "expected a float batch N x 3 x S x S"
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
    h = torch.linear(x, self.hash_layer.weight, self.hash_layer.bias)
    codes = torch.where(h >= 0, torch.ones_like(h), torch.full_like(h, -1.0))
    logits = torch.linear(codes, self.code_classifier.weight)
    return codes, logits
)JIT";

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

  // The submodule for every dotted prefix of the model's parameter names.
  void add_parameter(torch::jit::Module& root, const std::string& name, const at::Tensor& value) {
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
    parent.register_parameter(name.substr(start), value.detach().to(at::kCPU).clone(),
                              /*is_buffer=*/false);
  }

 private:
  std::shared_ptr<torch::jit::CompilationUnit> unit_;
};

}  // namespace

torch::jit::Module export_torchscript(const GreedyHash& model) {
  ModuleBuilder builder;
  torch::jit::Module root = builder.module("GreedyHash");
  for (const auto& item : model->named_parameters()) {
    builder.add_parameter(root, item.key(), item.value());
  }
  root.register_attribute("bits", c10::IntType::get(), model->bits());
  root.register_attribute("num_classes", c10::IntType::get(), model->num_classes());
  root.define(kForward);
  root.eval();
  return root;
}

void save_torchscript(const GreedyHash& model, const std::filesystem::path& file) {
  std::ostringstream bytes;
  export_torchscript(model).save(bytes);
  write_file_atomically(file, bytes.str());
}

}  // namespace greedyhash
