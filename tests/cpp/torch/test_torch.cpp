// fastaug/torch.hpp on libtorch CPU tensors (an NCHW batch through a permuted view), with torch's and fastaug's
// parallel regions in one process: one OpenMP runtime (checked from /proc/self/maps), same results as torch.
#include <torch/torch.h>
#include <fastaug/fastaug.hpp>
#include <fastaug/torch.hpp>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>

int main() {
  torch::manual_seed(0);
  at::Tensor x = torch::rand({4, 3, 64, 80});  // NCHW float32
  at::Tensor y = torch::empty_like(x);
  at::Tensor s = (x * 2).sum();  // a torch parallel region first
  fastaug::invert(fastaug::torch::view(x.permute({0, 2, 3, 1}), "x"),
                  fastaug::torch::view(y.permute({0, 2, 3, 1}), "y", true), fastaug::torch::current_stream(x));
  const double diff = (y - (1 - x)).abs().max().item<double>();
  // grey via fastaug on uint8 (H, W, C) vs torch's own arithmetic being irrelevant: only check the shape path
  at::Tensor img = torch::randint(0, 256, {32, 40, 3}, torch::kUInt8), half = torch::empty({16, 20, 3}, torch::kUInt8);
  fastaug::resize(fastaug::torch::view(img), fastaug::torch::view(half, "half", true), fastaug::Interp::Area);
  const double area = std::abs(
      half.index({0, 0, 0}).item<double>() -
      img.index({at::indexing::Slice(0, 2), at::indexing::Slice(0, 2), 0}).to(torch::kFloat).mean().item<double>());
  bool refused = false;
  try {
    fastaug::torch::view(torch::zeros({2, 2}, torch::kInt32), "mask");
  } catch (const std::invalid_argument& e) {
    refused = std::string(e.what()).rfind("mask: expected dtype uint8 or float32", 0) == 0;
  }
  std::set<std::string> gomp;  // every libgomp mapped into the process
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);)
    if (line.find("libgomp") != std::string::npos) gomp.insert(line.substr(line.find('/')));
  for (const auto& g : gomp) std::printf("OpenMP runtime: %s\n", g.c_str());
  std::printf("invert max |diff| %g, area |diff| %g, int32 refused %d, torch sum %g\n", diff, area, refused,
              s.item<double>());
  return diff == 0 && area <= 0.5 && refused && gomp.size() == 1 ? 0 : 1;
}
