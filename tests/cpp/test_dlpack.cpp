// view_from_dlpack: borrowing views of DLPack tensors, byte_offset, NULL strides as compact row-major, and
// errors that name the tensor; dmlc-style struct definitions taken through the by-name template.
#include <gtest/gtest.h>
#include <fastaug/dlpack.hpp>
#include <fastaug/fastaug.hpp>

#include <string>
#include <vector>

namespace {

namespace dl = fastaug::dlpack;

// A tensor over `buffer` with the given shape (strides NULL unless given).
struct Tensor {
  std::vector<int64_t> shape, strides;
  dl::ManagedTensor managed{};
  Tensor(void* data, std::vector<int64_t> s, dl::DataType dtype, std::vector<int64_t> st = {},
         int32_t device = dl::kCPU, uint64_t offset = 0)
      : shape(std::move(s)), strides(std::move(st)) {
    managed.dl_tensor = {data,  {device, 0},  int32_t(shape.size()),
                         dtype, shape.data(), strides.empty() ? nullptr : strides.data(),
                         offset};
  }
};
const dl::DataType kU8{dl::kUInt, 8, 1}, kF32{dl::kFloat, 32, 1};

TEST(DLPack, CompactRank3IsOneImage) {
  std::vector<uint8_t> buf(5 * 7 * 3);
  Tensor t(buf.data(), {5, 7, 3}, kU8);
  const fastaug::ImageView v = fastaug::view_from_dlpack(&t.managed);
  EXPECT_EQ(v.data, buf.data());  // borrowed: the same memory
  EXPECT_EQ(v.dtype, fastaug::DType::UInt8);
  EXPECT_EQ(v.device, fastaug::Device::CPU);
  EXPECT_EQ(v.n, 1);
  EXPECT_EQ(v.h, 5);
  EXPECT_EQ(v.w, 7);
  EXPECT_EQ(v.c, 3);
  EXPECT_EQ(v.sh, 21);
  EXPECT_EQ(v.sw, 3);
  EXPECT_EQ(v.sc, 1);
}

TEST(DLPack, StridedNchwWithByteOffsetRunsAnOperator) {
  // an (N, H, W, C) view of an N x C x H x W float32 buffer, starting one image in (byte_offset)
  const int64_t n = 2, c = 3, h = 4, w = 5;
  std::vector<float> buf((n + 1) * c * h * w);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = float(i % 7) / 7;
  Tensor t(buf.data(), {n, h, w, c}, kF32, {c * h * w, w, 1, h * w}, dl::kCPU, c * h * w * sizeof(float));
  const fastaug::ImageView v = fastaug::view_from_dlpack(&t.managed, "img");
  EXPECT_EQ(v.data, buf.data() + c * h * w);
  EXPECT_EQ(v.sc, h * w);
  EXPECT_EQ(v.sn, c * h * w);
  std::vector<float> out(n * h * w * c);
  fastaug::invert(v, fastaug::ImageView::nhwc(out.data(), fastaug::DType::Float32, n, h, w, c));
  // pixel (n=1, y=2, x=3, c=2) of the view
  EXPECT_FLOAT_EQ(out[((1 * h + 2) * w + 3) * c + 2], 1 - buf[c * h * w + 1 * c * h * w + 2 * h * w + 2 * w + 3]);
}

TEST(DLPack, Rank2IsGreyAndCudaIsCuda) {
  float x[6];
  Tensor t(x, {2, 3}, kF32, {}, dl::kCUDA);
  const fastaug::ImageView v = fastaug::view_from_dlpack(&t.managed);
  EXPECT_EQ(v.c, 1);
  EXPECT_EQ(v.w, 3);
  EXPECT_EQ(v.device, fastaug::Device::CUDA);
}

template <class Fn>
void expect_error(Fn fn, const std::string& message) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected: " << message;
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), message);
  }
}

TEST(DLPack, ErrorsNameTheTensor) {
  float x[16];
  Tensor i32(x, {4, 4}, {dl::kInt, 32, 1});
  expect_error([&] { fastaug::view_from_dlpack(&i32.managed, "img"); },
               "img: expected dtype uint8 or float32, got DLPack type code 0 with 32 bits");
  Tensor half(x, {4, 4}, {dl::kFloat, 16, 1});
  EXPECT_NO_THROW(fastaug::view_from_dlpack(&half.managed, "out", true));  // an output may be float16
  Tensor rank5(x, {1, 1, 2, 2, 4}, kF32);
  expect_error([&] { fastaug::view_from_dlpack(&rank5.managed, "img"); }, "img: expected rank 2, 3 or 4, got rank 5");
  Tensor opencl(x, {4, 4}, kF32, {}, 4);
  expect_error([&] { fastaug::view_from_dlpack(&opencl.managed, "img"); },
               "img: device type 4 is not served by any fastaug backend (cpu, cuda)");
  Tensor lanes(x, {4, 4}, {dl::kFloat, 32, 4});
  expect_error([&] { fastaug::view_from_dlpack(&lanes.managed); },
               "tensor: vector dtypes (lanes > 1) are not supported");
  expect_error([&] { fastaug::view_from_dlpack(static_cast<const dl::ManagedTensor*>(nullptr), "img"); },
               "img: the DLPack tensor is null");
  Tensor odd(x, {2, 2}, kF32, {}, dl::kCPU, 2);
  expect_error([&] { fastaug::view_from_dlpack(&odd.managed, "img"); }, "img: data is not aligned to its element size");
}

TEST(DLPack, VersionedStruct) {
  uint8_t x[4];
  Tensor t(x, {2, 2}, kU8);
  dl::ManagedTensorVersioned v{{1, 1}, nullptr, nullptr, 0, t.managed.dl_tensor};
  EXPECT_EQ(fastaug::view_from_dlpack(&v, "out", true).h, 2);
  v.flags = dl::kFlagReadOnly;
  EXPECT_EQ(fastaug::view_from_dlpack(&v, "img").h, 2);  // read-only is fine for an input
  expect_error([&] { fastaug::view_from_dlpack(&v, "out", true); }, "out: the DLPack tensor is read-only");
  v.version.major = 2;
  expect_error([&] { fastaug::view_from_dlpack(&v, "img"); },
               "img: DLPack major version 2 is not supported (expected 1)");
}

// Structs spelled as dmlc's dlpack.h spells them (an enum device type, the versioned struct's fields in its
// order): the template reads them by name.
namespace other {
enum DLDeviceType { kDLCPU = 1, kDLCUDA = 2 };
struct DLDevice {
  DLDeviceType device_type;
  int32_t device_id;
};
struct DLDataType {
  uint8_t code, bits;
  uint16_t lanes;
};
struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;
  uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor*);
};
struct DLPackVersion {
  uint32_t major, minor;
};
struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(DLManagedTensorVersioned*);
  uint64_t flags;
  DLTensor dl_tensor;
};
}  // namespace other

TEST(DLPack, OtherDefinitionsByName) {
  float x[2 * 3 * 4];
  int64_t shape[3] = {2, 3, 4};
  other::DLManagedTensor m{{x, {other::kDLCUDA, 0}, 3, {2, 32, 1}, shape, nullptr, 4}, nullptr, nullptr};
  const fastaug::ImageView v = fastaug::view_from_dlpack(&m);
  EXPECT_EQ(v.device, fastaug::Device::CUDA);
  EXPECT_EQ(v.c, 4);
  EXPECT_EQ(v.data, x + 1);
  other::DLManagedTensorVersioned mv{{1, 0}, nullptr, nullptr, 1, m.dl_tensor};
  expect_error([&] { fastaug::view_from_dlpack(&mv, "out", true); }, "out: the DLPack tensor is read-only");
}

}  // namespace
