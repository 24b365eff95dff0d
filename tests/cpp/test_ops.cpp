// Every operator through the C++ API on the cases of tests/cpp_cases.py: the same inputs and parameters, and
// the same bits as the Python API's results stored in data/. The CUDA variants run the same cases on a GPU
// (and skip where the library has no CUDA kernels or no device is usable).
#include <gtest/gtest.h>
#include <fastaug/fastaug.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#if FASTAUG_WITH_CUDA_KERNELS
#include <cuda_runtime.h>
#endif

#include "image_io.hpp"

namespace {

using image_io::Array;

std::string data_path(const std::string& file) { return std::string(FASTAUG_TEST_DATA) + "/" + file; }

struct Case {
  std::string name, op, input;
};

std::vector<Case> read_cases() {
  std::ifstream f(data_path("cases.txt"));
  std::vector<Case> cases;
  for (Case c; f >> c.name >> c.op >> c.input;) cases.push_back(c);
  return cases;
}

// The parameters of one case, read on first use from data/<case>.<key>.npy.
class Params {
 public:
  explicit Params(std::string name) : name_(std::move(name)) {}
  const Array& array(const std::string& key) {
    auto it = arrays_.find(key);
    if (it == arrays_.end()) it = arrays_.emplace(key, image_io::read_npy(data_path(name_ + "." + key + ".npy"))).first;
    return it->second;
  }
  template <class T>
  const T* get(const std::string& key) {
    const Array& a = array(key);
    const std::string want = std::is_same_v<T, double>    ? "<f8"
                             : std::is_same_v<T, float>   ? "<f4"
                             : std::is_same_v<T, int32_t> ? "<i4"
                             : std::is_same_v<T, int64_t> ? "<i8"
                                                          : "|u1";
    if (a.descr != want) throw std::runtime_error(name_ + "." + key + ": dtype " + a.descr + ", expected " + want);
    return a.data<T>();
  }
  int64_t i(const std::string& key, int k = 0) { return get<int64_t>(key)[k]; }

 private:
  std::string name_;
  std::map<std::string, Array> arrays_;
};

fastaug::DType dtype_of(const Array& a) { return a.descr == "|u1" ? fastaug::DType::UInt8 : fastaug::DType::Float32; }

// Runs the case's operator from src into dst (or channel_mean into means, host memory).
void run_op(const Case& c, Params& p, const fastaug::ImageView& src, const fastaug::ImageView& dst, double* means) {
  using fastaug::Border;
  using fastaug::Interp;
  const auto interp = [&] { return static_cast<Interp>(p.i("interp")); };
  const auto border = [&] { return static_cast<Border>(p.i("border")); };
  const std::string& op = c.op;
  if (op == "warp_affine") {
    fastaug::warp_affine(src, dst, p.get<double>("M"), interp(), border(), p.get<double>("fill"));
  } else if (op == "warp_perspective") {
    fastaug::warp_perspective(src, dst, p.get<double>("H"), interp(), border(), p.get<double>("fill"));
  } else if (op == "resize") {
    fastaug::resize(src, dst, interp());
  } else if (op == "flip") {
    fastaug::flip(src, dst, p.get<int32_t>("codes"));
  } else if (op == "rotate90") {
    fastaug::rotate90(src, dst, p.get<int32_t>("k"));
  } else if (op == "crop") {
    fastaug::crop(src, dst, p.get<int64_t>("top_left"));
  } else if (op == "tiles") {
    fastaug::tiles(src, dst, p.i("stride", 0), p.i("stride", 1));
  } else if (op == "filter2d") {
    const Array& k = p.array("kernel");  // (N, kh, kw)
    fastaug::filter2d(src, dst, p.get<float>("kernel"), int(k.shape[1]), int(k.shape[2]), border(),
                      p.get<double>("fill"));
  } else if (op == "sep_filter2d") {
    fastaug::sep_filter2d(src, dst, p.get<float>("kx"), int(p.array("kx").shape[1]), p.get<float>("ky"),
                          int(p.array("ky").shape[1]), border(), p.get<double>("fill"), p.get<double>("delta")[0]);
  } else if (op == "gaussian_blur") {
    fastaug::gaussian_blur(src, dst, int(p.i("ksize", 0)), int(p.i("ksize", 1)), p.get<double>("sigma"), border());
  } else if (op == "box_blur") {
    fastaug::box_blur(src, dst, int(p.i("ksize", 0)), int(p.i("ksize", 1)), border());
  } else if (op == "median_blur") {
    fastaug::median_blur(src, dst, int(p.i("ksize")));
  } else if (op == "sobel") {
    const double* sd = p.get<double>("scale_delta");
    fastaug::sobel(src, dst, int(p.i("dxy", 0)), int(p.i("dxy", 1)), int(p.i("dxy", 2)), sd[0], sd[1], border());
  } else if (op == "edges") {
    fastaug::edges(src, dst);
  } else if (op == "equalize") {
    fastaug::equalize(src, dst);
  } else if (op == "to_gray") {
    fastaug::to_gray(src, dst);
  } else if (op == "threshold") {
    fastaug::threshold(src, dst, p.get<double>("thresh"), p.get<double>("maxval"),
                       static_cast<fastaug::ThresholdMode>(p.i("mode")));
  } else if (op == "invert") {
    fastaug::invert(src, dst);
  } else if (op == "normalize") {
    fastaug::normalize(src, dst, p.get<double>("mean"), p.get<double>("std"), p.get<double>("scale")[0]);
  } else if (op == "lut") {
    fastaug::lut(src, dst, p.get<uint8_t>("table"));
  } else if (op == "color_transform") {
    fastaug::color_transform(src, dst, p.get<double>("matrix"));
  } else if (op == "channel_mean") {
    fastaug::channel_mean(src, means);
  } else if (op == "hue_shift") {
    fastaug::hue_shift(src, dst, p.get<double>("hue"));
  } else {
    FAIL() << c.name << ": no C++ call for operator " << op << " (add it to run_op)";
  }
}

// The view of an (N, H, W, C) array, or of an (N, C, H, W) one (normalize's output) as N x H x W x C.
fastaug::ImageView view_of(void* data, const Array& a, bool nchw) {
  const auto& s = a.shape;
  if (!nchw) return fastaug::ImageView::nhwc(data, dtype_of(a), s[0], s[1], s[2], s[3]);
  fastaug::ImageView v = fastaug::ImageView::nhwc(data, dtype_of(a), s[0], s[2], s[3], s[1]);
  v.sc = s[2] * s[3], v.sh = s[3], v.sw = 1;
  return v;
}

// Exact equality, reporting the first difference (integer results and the float ones alike: both languages run
// the same compiled arithmetic).
void expect_same(const Case& c, const Array& want, const void* got) {
  const size_t bytes = want.bytes.size();
  if (std::memcmp(want.bytes.data(), got, bytes) == 0) return;
  const size_t elem = image_io::descr_size(want.descr);
  for (size_t i = 0; i < bytes / elem; ++i) {
    if (std::memcmp(want.bytes.data() + i * elem, static_cast<const char*>(got) + i * elem, elem) == 0) continue;
    double w, g;
    if (want.descr == "|u1")
      w = want.bytes[i], g = static_cast<const uint8_t*>(got)[i];
    else if (want.descr == "<f4")
      w = want.data<float>()[i], g = static_cast<const float*>(got)[i];
    else
      w = want.data<double>()[i], g = static_cast<const double*>(got)[i];
    ADD_FAILURE() << c.name << ": element " << i << " of " << bytes / elem << ": C++ " << g << ", Python " << w;
    return;
  }
}

class Ops : public testing::TestWithParam<Case> {};

TEST_P(Ops, CpuEqualsPython) {
  const Case& c = GetParam();
  Params p(c.name);
  Array in = image_io::read_npy(data_path("input_" + c.input + ".npy"));
  const Array want = image_io::read_npy(data_path(c.name + ".out.npy"));
  std::vector<unsigned char> out(want.bytes.size(), 0xAB);  // filled: a pixel left unwritten shows
  const fastaug::ImageView src = view_of(in.bytes.data(), in, false);
  if (c.op == "channel_mean") {
    run_op(c, p, src, src, reinterpret_cast<double*>(out.data()));
  } else {
    run_op(c, p, src, view_of(out.data(), want, c.op == "normalize"), nullptr);
  }
  expect_same(c, want, out.data());
}

#if FASTAUG_WITH_CUDA_KERNELS
void cuda_ok(cudaError_t e) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("CUDA: ") + cudaGetErrorString(e));
}
#endif

TEST_P(Ops, CudaEqualsPython) {
#if !FASTAUG_WITH_CUDA_KERNELS
  GTEST_SKIP() << "fastaug was built without CUDA kernels";
#else
  std::string why;
  if (!fastaug::cuda_available(&why)) GTEST_SKIP() << "no usable CUDA device: " << why;
  const Case& c = GetParam();
  Params p(c.name);
  Array in = image_io::read_npy(data_path("input_" + c.input + ".npy"));
  const Array want = image_io::read_npy(data_path(c.name + ".out.npy"));
  void *d_in = nullptr, *d_out = nullptr;
  cuda_ok(cudaMalloc(&d_in, in.bytes.size()));
  cuda_ok(cudaMalloc(&d_out, want.bytes.size()));
  cuda_ok(cudaMemcpy(d_in, in.bytes.data(), in.bytes.size(), cudaMemcpyHostToDevice));
  std::vector<unsigned char> out(want.bytes.size(), 0xAB);
  fastaug::ImageView src = view_of(d_in, in, false);
  src.device = fastaug::Device::CUDA;
  if (c.op == "channel_mean") {
    run_op(c, p, src, src, reinterpret_cast<double*>(out.data()));
  } else {
    fastaug::ImageView dst = view_of(d_out, want, c.op == "normalize");
    dst.device = fastaug::Device::CUDA;
    run_op(c, p, src, dst, nullptr);
    cuda_ok(cudaMemcpy(out.data(), d_out, out.size(), cudaMemcpyDeviceToHost));
  }
  cudaFree(d_in);
  cudaFree(d_out);
  expect_same(c, want, out.data());
#endif
}

INSTANTIATE_TEST_SUITE_P(Cases, Ops, testing::ValuesIn(read_cases()),
                         [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(Cases, AllRead) {
  EXPECT_GE(read_cases().size(), 20u) << "data/cases.txt missing or short: run tests/cpp_cases.py";
}

}  // namespace
