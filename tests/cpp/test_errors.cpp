// Bad arguments throw fastaug::Error (a std::invalid_argument) naming the argument, before anything is written;
// device failures throw fastaug::DeviceError (a std::runtime_error). Run against a shared libfastaug too, these
// show that the exception types are caught across the library boundary.
#include <gtest/gtest.h>
#include <fastaug/fastaug.hpp>

#include <cstring>
#include <string>
#include <vector>

namespace {

using fastaug::DType;
using fastaug::ImageView;

// Runs fn, expects an exception of type E whose message starts with `prefix`, returns the message.
template <class E, class Fn>
std::string expect_throw(Fn fn, const std::string& prefix) {
  try {
    fn();
  } catch (const E& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(prefix, 0), 0u) << "message: " << what;
    return what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw another type: " << e.what();
    return {};
  }
  ADD_FAILURE() << "did not throw (expected a message starting with '" << prefix << "')";
  return {};
}

struct Images : testing::Test {
  std::vector<uint8_t> a = std::vector<uint8_t>(2 * 8 * 8 * 3, 50), b = std::vector<uint8_t>(2 * 8 * 8 * 3, 7);
  ImageView src = ImageView::nhwc(a.data(), DType::UInt8, 2, 8, 8, 3);
  ImageView dst = ImageView::nhwc(b.data(), DType::UInt8, 2, 8, 8, 3);
  bool dst_untouched() const {
    for (uint8_t v : b)
      if (v != 7) return false;
    return true;
  }
};

TEST_F(Images, BadShapeNamesDst) {
  ImageView small = ImageView::nhwc(b.data(), DType::UInt8, 2, 8, 8, 1);
  const std::string what = expect_throw<fastaug::Error>([&] { fastaug::invert(src, small); }, "dst: ");
  EXPECT_NE(what.find("(2, 8, 8, 1)"), std::string::npos) << what;  // what it got
  EXPECT_TRUE(dst_untouched());
}

TEST_F(Images, BadChannelsNameSrc) {
  src.c = 2;
  src.sw = 2;
  expect_throw<std::invalid_argument>([&] { fastaug::invert(src, dst); }, "src: expected 1, 3 or 4 channels, got 2");
}

TEST_F(Images, NullDataNamesTheImage) {
  src.data = nullptr;
  expect_throw<fastaug::Error>([&] { fastaug::invert(src, dst); }, "src: data is null");
  dst.data = nullptr;
  src.data = a.data();
  expect_throw<fastaug::Error>([&] { fastaug::equalize(src, dst); }, "dst: data is null");
}

TEST_F(Images, NullParametersNameThem) {
  const double fill[4] = {0, 0, 0, 0};
  expect_throw<fastaug::Error>(
      [&] { fastaug::warp_affine(src, dst, nullptr, fastaug::Interp::Linear, fastaug::Border::Constant, fill); },
      "M: is null");
  expect_throw<fastaug::Error>([&] { fastaug::lut(src, dst, nullptr); }, "table: is null");
  expect_throw<fastaug::Error>([&] { fastaug::channel_mean(src, nullptr); }, "out: is null");
  EXPECT_TRUE(dst_untouched());
}

TEST_F(Images, OverlapNamesDst) {
  expect_throw<fastaug::Error>([&] { fastaug::invert(src, src); }, "dst: overlaps src");
  // the second image of a batch written over the first: partial overlap, a flipped (negative-stride) view
  ImageView shifted = ImageView::nhwc(a.data() + 8 * 8 * 3 / 2, DType::UInt8, 2, 8, 8, 3);
  expect_throw<fastaug::Error>([&] { fastaug::equalize(src, shifted); }, "dst: overlaps src");
  ImageView flipped = src;
  flipped.data = a.data() + 7 * flipped.sh;
  flipped.sh = -flipped.sh;
  expect_throw<fastaug::Error>([&] { fastaug::invert(flipped, src); }, "dst: overlaps src");
  // two halves of one buffer do not overlap
  ImageView first = ImageView::nhwc(a.data(), DType::UInt8, 1, 8, 8, 3);
  ImageView second = ImageView::nhwc(a.data() + 8 * 8 * 3, DType::UInt8, 1, 8, 8, 3);
  EXPECT_NO_THROW(fastaug::invert(first, second));
  EXPECT_EQ(a[8 * 8 * 3], 255 - 50);
}

TEST_F(Images, UnsupportedDtypeNamesTheImage) {
  src.dtype = DType::Float16;
  expect_throw<fastaug::Error>([&] { fastaug::invert(src, dst); }, "src: expected dtype uint8 or float32, got float16");
  std::vector<float> f(a.size()), g(a.size());
  ImageView fsrc = ImageView::nhwc(f.data(), DType::Float32, 2, 8, 8, 3);
  expect_throw<fastaug::Error>([&] { fastaug::equalize(fsrc, dst); }, "dst: expected dtype float32, got uint8");
  // equalize takes uint8 only (its source names src "img", the Python argument's name)
  ImageView fdst = ImageView::nhwc(g.data(), DType::Float32, 2, 8, 8, 3);
  const std::string what = expect_throw<fastaug::Error>([&] { fastaug::equalize(fsrc, fdst); }, "");
  EXPECT_NE(what.find("expected dtype uint8, got float32"), std::string::npos) << what;
}

TEST(Runtime, ThreadCountIsChecked) {
  expect_throw<fastaug::Error>([] { fastaug::set_num_threads(0); }, "n: expected a positive thread count, got 0");
  const int before = fastaug::get_num_threads();
  fastaug::set_num_threads(1);
  EXPECT_EQ(fastaug::get_num_threads(), 1);
  fastaug::set_num_threads(before);
}

TEST(Runtime, CudaAvailableGivesAReason) {
  char reason[16];
  std::memset(reason, 'x', sizeof reason);
  const bool ok = fastaug::cuda_available(reason, sizeof reason);
  EXPECT_LT(std::strlen(reason), sizeof reason);  // cut to the buffer and NUL-terminated
  std::string full;
  EXPECT_EQ(fastaug::cuda_available(&full), ok);
  if (!ok) EXPECT_EQ(full.substr(0, std::strlen(reason)), std::string(reason));
#if !FASTAUG_WITH_CUDA_KERNELS
  EXPECT_FALSE(ok);
  EXPECT_EQ(full, "fastaug was built without CUDA kernels");
#endif
}

// A CUDA image: an argument error where the library has no CUDA kernels, a device error (std::runtime_error)
// where it has them but no device can be used.
TEST_F(Images, CudaImageWithoutCuda) {
  if (fastaug::cuda_available()) GTEST_SKIP() << "a CUDA device is usable here";
  src.device = dst.device = fastaug::Device::CUDA;
#if FASTAUG_WITH_CUDA_KERNELS
  expect_throw<fastaug::DeviceError>([&] { fastaug::invert(src, dst); },
                                     "invert: got a CUDA image, but no CUDA device can be used");
#else
  expect_throw<fastaug::Error>([&] { fastaug::invert(src, dst); }, "invert: got a CUDA image, but fastaug was built");
#endif
}

TEST(ErrorTypes, Hierarchy) {
  static_assert(std::is_base_of_v<std::invalid_argument, fastaug::Error>);
  static_assert(std::is_base_of_v<std::runtime_error, fastaug::DeviceError>);
  EXPECT_STREQ(fastaug::Error("x: y").what(), "x: y");
}

}  // namespace
