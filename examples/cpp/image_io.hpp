// Reading and writing images with no library: binary PGM (P5, grey) and PPM (P6, RGB) with maxval 255, and NumPy
// .npy files (little-endian, C order; uint8, int32, int64, float32 or float64). Header-only, for the example and
// the C++ tests; not part of the fastaug API.
#pragma once
#include <cctype>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace image_io {

// An n-dimensional array read from a file: its NumPy dtype string ("|u1", "<f4", ...), shape and bytes.
struct Array {
  std::string descr;
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;

  int64_t size() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  template <class T>
  T* data() {
    return reinterpret_cast<T*>(bytes.data());
  }
  template <class T>
  const T* data() const {
    return reinterpret_cast<const T*>(bytes.data());
  }
};

inline size_t descr_size(const std::string& d) {
  if (d == "|u1") return 1;
  if (d == "<f4" || d == "<i4") return 4;
  if (d == "<f8" || d == "<i8") return 8;
  throw std::runtime_error("npy: unsupported dtype " + d + " (expected |u1, <i4, <i8, <f4 or <f8)");
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(path + ": cannot open");
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// The value of 'key' in an npy header dict, as text (up to the next ',' outside parentheses, or the '}').
inline std::string header_value(const std::string& header, const std::string& key, const std::string& path) {
  const size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) throw std::runtime_error(path + ": npy header has no '" + key + "'");
  size_t i = header.find(':', k) + 1;
  while (i < header.size() && header[i] == ' ') ++i;
  size_t j = i;
  int depth = 0;
  for (; j < header.size(); ++j) {
    const char c = header[j];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  return header.substr(i, j - i);
}

inline Array read_npy(const std::string& path) {
  const std::string s = read_file(path);
  if (s.size() < 10 || s.compare(0, 6, "\x93NUMPY") != 0) throw std::runtime_error(path + ": not an npy file");
  const int major = static_cast<unsigned char>(s[6]);
  size_t header_len, start;
  if (major == 1) {
    header_len = static_cast<unsigned char>(s[8]) | (static_cast<unsigned char>(s[9]) << 8);
    start = 10;
  } else {
    uint32_t len;
    std::memcpy(&len, s.data() + 8, 4);
    header_len = len, start = 12;
  }
  const std::string header = s.substr(start, header_len);
  Array a;
  std::string descr = header_value(header, "descr", path);
  a.descr = descr.substr(1, descr.size() - 2);  // strip the quotes
  if (a.descr == "<u1" || a.descr == "u1") a.descr = "|u1";
  if (header_value(header, "fortran_order", path) != "False")
    throw std::runtime_error(path + ": Fortran-order arrays are not supported");
  const std::string shape = header_value(header, "shape", path);
  for (size_t i = 0; i < shape.size();) {
    if (std::isdigit(static_cast<unsigned char>(shape[i]))) {
      size_t j = i;
      while (j < shape.size() && std::isdigit(static_cast<unsigned char>(shape[j]))) ++j;
      a.shape.push_back(std::stoll(shape.substr(i, j - i)));
      i = j;
    } else {
      ++i;
    }
  }
  const size_t bytes = static_cast<size_t>(a.size()) * descr_size(a.descr);
  if (s.size() < start + header_len + bytes) throw std::runtime_error(path + ": truncated npy data");
  a.bytes.assign(s.begin() + static_cast<std::ptrdiff_t>(start + header_len),
                 s.begin() + static_cast<std::ptrdiff_t>(start + header_len + bytes));
  return a;
}

inline void write_npy(const std::string& path, const std::string& descr, const std::vector<int64_t>& shape,
                      const void* data) {
  std::string dims;
  int64_t n = 1;
  for (int64_t d : shape) dims += std::to_string(d) + ", ", n *= d;
  if (shape.size() > 1) dims.resize(dims.size() - 1);  // (2,) for one axis, (2, 3) for more
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(path + ": cannot write");
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                static_cast<unsigned char>(header.size() >> 8)};
  f.write("\x93NUMPY\x01\x00", 8);
  f.write(reinterpret_cast<const char*>(len), 2);
  f << header;
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n * descr_size(descr)));
}

// Binary PGM (P5) or PPM (P6), maxval 255: an (H, W, 1) or (H, W, 3) uint8 array.
inline Array read_pnm(const std::string& path) {
  const std::string s = read_file(path);
  if (s.size() < 2 || s[0] != 'P' || (s[1] != '5' && s[1] != '6'))
    throw std::runtime_error(path + ": expected a binary PGM (P5) or PPM (P6) file");
  const int64_t c = s[1] == '5' ? 1 : 3;
  size_t i = 2;
  int64_t fields[3];
  for (int64_t& v : fields) {  // width, height, maxval, with whitespace and # comments between
    for (;;) {
      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
      if (i < s.size() && s[i] == '#') {
        while (i < s.size() && s[i] != '\n') ++i;
      } else {
        break;
      }
    }
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i) throw std::runtime_error(path + ": malformed header");
    v = std::stoll(s.substr(i, j - i));
    i = j;
  }
  if (fields[2] != 255) throw std::runtime_error(path + ": expected maxval 255, got " + std::to_string(fields[2]));
  ++i;  // the single whitespace byte before the pixels
  Array a{"|u1", {fields[1], fields[0], c}, {}};
  const size_t bytes = static_cast<size_t>(a.size());
  if (s.size() < i + bytes) throw std::runtime_error(path + ": truncated pixel data");
  a.bytes.assign(s.begin() + static_cast<std::ptrdiff_t>(i), s.begin() + static_cast<std::ptrdiff_t>(i + bytes));
  return a;
}

// Writes a compact H x W grey (c = 1, PGM) or RGB (c = 3, PPM) uint8 image.
inline void write_pnm(const std::string& path, const unsigned char* data, int64_t h, int64_t w, int64_t c) {
  if (c != 1 && c != 3) throw std::runtime_error(path + ": PGM/PPM need 1 or 3 channels, got " + std::to_string(c));
  std::ofstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(path + ": cannot write");
  f << (c == 1 ? "P5\n" : "P6\n") << w << ' ' << h << "\n255\n";
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(h * w * c));
}

inline bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace image_io
