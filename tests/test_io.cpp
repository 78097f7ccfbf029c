// Tests for ras::io: F16/BF16 conversions, safetensors and .npy round trips and dtype conversions,
// hostile files (each must end in ras::Error naming the file), files written by Python
// (tests/fixtures/make_io_fixtures.py) and strict / non-strict state-dict loading.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "ras/io/npy.hpp"
#include "ras/io/safetensors.hpp"
#include "ras/io/state_dict.hpp"

namespace fs = std::filesystem;
namespace ag = ras::autograd;
namespace io = ras::io;
using ras::DType;
using ras::Index;

namespace {

// A fresh folder under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("ras_test_io_" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "_" +
            std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string le64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * i));
  return s;
}

// A safetensors file: length (declared, or the header's size), JSON header, data.
std::string st_bytes(const std::string& header, const std::string& data, std::uint64_t declared = ~0ull) {
  return le64(declared == ~0ull ? header.size() : declared) + header + data;
}

std::string u16_bytes(std::initializer_list<std::uint16_t> v) {
  std::string s;
  for (auto x : v) {
    s += static_cast<char>(x & 0xff);
    s += static_cast<char>(x >> 8);
  }
  return s;
}

// The message of the ras::Error f throws ("<no error>" when it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ras::Error& e) {
    return e.what();
  }
  return "<no error>";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

template <class T, int R>
std::vector<T> values_of(const ras::Tensor<T, R>& t) {
  return std::vector<T>(t.data(), t.data() + t.numel());
}

// A small module tree with parameters, buffers of two dtypes, a sub-module and a module list.
struct TinySub {
  ag::Var<float, 1> weight;
  template <class V>
  void visit(V& v) { v.param("weight", weight); }
};

struct Tiny {
  ag::Var<float, 2> weight;
  ag::Var<float, 1> bias;
  ras::Tensor<float, 1> running_mean;
  ras::Tensor<std::int64_t, 0> num_batches_tracked;
  TinySub sub;
  std::vector<TinySub> layers;

  explicit Tiny(float base) {
    weight = ag::Var<float, 2>::parameter(ras::Tensor<float, 2>::from({2, 3}, {base, 1, 2, 3, 4, 5}));
    bias = ag::Var<float, 1>::parameter(ras::Tensor<float, 1>::full({2}, base + 10));
    running_mean = ras::Tensor<float, 1>::full({3}, base - 1);
    num_batches_tracked = ras::Tensor<std::int64_t, 0>::full({}, static_cast<std::int64_t>(base) * 7);
    sub.weight = ag::Var<float, 1>::parameter(ras::Tensor<float, 1>::full({4}, base * 2));
    layers.resize(2);
    for (std::size_t i = 0; i < 2; ++i)
      layers[i].weight = ag::Var<float, 1>::parameter(ras::Tensor<float, 1>::full({1}, base + float(i)));
  }
  template <class V>
  void visit(V& v) {
    v.param("weight", weight);
    v.param("bias", bias);
    v.buffer("running_mean", running_mean);
    v.buffer("num_batches_tracked", num_batches_tracked);
    v.module("sub", sub);
    v.modules("layers", layers);
  }
};

void check_same_state(Tiny& a, Tiny& b) {
  CHECK(values_of(a.weight.value()) == values_of(b.weight.value()));
  CHECK(values_of(a.bias.value()) == values_of(b.bias.value()));
  CHECK(values_of(a.running_mean) == values_of(b.running_mean));
  CHECK(a.num_batches_tracked.data()[0] == b.num_batches_tracked.data()[0]);
  CHECK(values_of(a.sub.weight.value()) == values_of(b.sub.weight.value()));
  CHECK(values_of(a.layers[1].weight.value()) == values_of(b.layers[1].weight.value()));
}

}  // namespace

TEST_CASE("io: F16 and BF16 conversions are exact and round to nearest even") {
  // Every F16 value survives F16 -> float -> F16; NaNs stay NaN.
  for (std::uint32_t h = 0; h <= 0xffff; ++h) {
    const float f = io::f16_to_float(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) {
      CHECK(std::isnan(io::f16_to_float(io::float_to_f16(f))));
    } else if (io::float_to_f16(f) != h) {
      FAIL("F16 round trip of 0x", std::hex, h);
    }
  }
  // Halfway points between neighbours (subnormal and normal) round to the even one.
  int bad = 0;
  for (std::uint16_t h = 0; h < 0x7bff; ++h) {
    const double lo = io::f16_to_float(h), hi = io::f16_to_float(static_cast<std::uint16_t>(h + 1));
    const auto mid = static_cast<float>((lo + hi) / 2);  // exact: 12 significant bits
    const std::uint16_t even = (h & 1) ? static_cast<std::uint16_t>(h + 1) : h;
    bad += io::float_to_f16(mid) != even;
    bad += io::float_to_f16(std::nextafter(mid, 1e9f)) != h + 1;
    bad += io::float_to_f16(std::nextafter(mid, -1e9f)) != h;
    bad += io::float_to_f16(-mid) != (even | 0x8000);
  }
  CHECK(bad == 0);
  CHECK(io::f16_to_float(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(io::f16_to_float(0x03ff) == std::ldexp(1023.0f, -24));  // largest subnormal
  CHECK(io::f16_to_float(0x0400) == std::ldexp(1.0f, -14));  // smallest normal
  CHECK(io::f16_to_float(0x7bff) == 65504.0f);
  CHECK(io::f16_to_float(0x7c00) == std::numeric_limits<float>::infinity());
  CHECK(io::f16_to_float(0xfc00) == -std::numeric_limits<float>::infinity());
  CHECK(std::signbit(io::f16_to_float(0x8000)));
  CHECK(io::float_to_f16(65519.0f) == 0x7bff);
  CHECK(io::float_to_f16(65520.0f) == 0x7c00);  // halfway to 65536: ties to even = infinity
  CHECK(io::float_to_f16(1e-8f) == 0x0000);      // below 2^-25
  CHECK(io::float_to_f16(std::ldexp(1.0f, -25)) == 0x0000);  // tie with 0 -> even
  CHECK(io::float_to_f16(3e-8f) == 0x0001);
  CHECK(io::float_to_f16(-std::numeric_limits<float>::infinity()) == 0xfc00);
  CHECK((io::float_to_f16(std::numeric_limits<float>::quiet_NaN()) & 0x7fff) > 0x7c00);

  CHECK(io::bf16_to_float(0x3f80) == 1.0f);
  CHECK(io::bf16_to_float(0xc0a0) == -5.0f);
  CHECK(io::float_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);      // tie, 0x3f80 even
  CHECK(io::float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);  // tie, 0x3f81 odd -> up
  CHECK(io::float_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)) == 0x3f81);
  CHECK(io::float_to_bf16(std::numeric_limits<float>::max()) == 0x7f80);  // rounds up to infinity
  CHECK(io::float_to_bf16(std::numeric_limits<float>::denorm_min()) == 0x0000);
  CHECK(std::isnan(io::bf16_to_float(io::float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST_CASE("io: safetensors round trip of every dtype, conversions and metadata") {
  TempDir dir;
  const std::string path = dir.file("all.safetensors");
  io::SafetensorsWriter w;
  w.set_metadata("format", "ras");
  w.set_metadata("note \"quoted\"", "line1\nline2\t\xc3\xa9\\");
  auto f32 = ras::Tensor<float, 2>::from({2, 3}, {0.5f, -1.25f, 3.0f, 1e-3f, -0.0f, 1e30f});
  auto f64 = ras::Tensor<double, 1>::from({3}, {0.1, -1e300, 4.5});
  auto i64 = ras::Tensor<std::int64_t, 1>::from({3}, {-3, std::int64_t(1) << 40, 7});
  auto i32 = ras::Tensor<std::int32_t, 1>::from({2}, {-7, 100000});
  auto i16 = ras::Tensor<std::int16_t, 1>::from({2}, {-300, 300});
  auto i8 = ras::Tensor<std::int8_t, 1>::from({3}, {-128, 0, 127});
  auto u8 = ras::Tensor<std::uint8_t, 2>::from({2, 2}, {0, 1, 254, 255});
  auto b = ras::Tensor<bool, 1>::from({3}, {true, false, true});
  auto scalar = ras::Tensor<float, 0>::full({}, 42.0f);
  auto empty = ras::Tensor<float, 2>({0, 5});
  auto halves = ras::Tensor<float, 1>::from({4}, {1.0f, -2.5f, std::ldexp(1.0f, -24), 1.0f + std::ldexp(1.0f, -8)});
  w.add("i8", i8);  // 1-byte tensors first: the writer must still align the others
  w.add("f32", f32);
  w.add("f64", f64);
  w.add("i64", i64);
  w.add("i32", i32);
  w.add("i16", i16);
  w.add("u8", u8);
  w.add("bool", b);
  w.add("scalar", scalar);
  w.add("empty", empty);
  w.add("as_f16", halves, DType::F16);
  w.add("as_bf16", halves, DType::BF16);
  w.add("i64_as_i32", i64.data(), {3}, DType::F64);
  CHECK_THROWS_WITH_AS(w.add("f32", f32), doctest::Contains("already added"), ras::Error);
  CHECK_THROWS_WITH_AS(w.add("bad", f32, DType::I32), doctest::Contains("cannot convert F32 to I32"), ras::Error);
  CHECK_THROWS_WITH_AS(w.add("bad", u8, DType::I8), doctest::Contains("does not fit in I8"), ras::Error);
  w.write(path);

  const std::string bytes = read_bytes(path);
  REQUIRE(bytes.size() > 8);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  CHECK(n % 8 == 0);
  CHECK(bytes[8] == '{');

  io::SafetensorsFile f(path);
  CHECK(f.size() == 13);
  CHECK(f.keys().front() == "i8");
  CHECK(f.has("as_bf16"));
  CHECK(!f.has("__metadata__"));
  CHECK(f.metadata().at("format") == "ras");
  CHECK(f.metadata().at("note \"quoted\"") == "line1\nline2\t\xc3\xa9\\");
  for (const auto& k : f.keys()) CHECK(f.info(k).begin % ras::dtype_size(f.info(k).dtype) == 0);
  CHECK(f.info("as_f16").dtype == DType::F16);
  CHECK(f.info("f32").shape == std::vector<Index>{2, 3});
  CHECK(f.info("f32").nbytes() == 24);

  CHECK(values_of(f.get<float, 2>("f32")) == values_of(f32));
  CHECK(std::signbit(f.get<float, 2>("f32")(1, 1)));
  CHECK(values_of(f.get<double, 1>("f64")) == values_of(f64));
  CHECK(values_of(f.get<std::int64_t, 1>("i64")) == values_of(i64));
  CHECK(values_of(f.get<std::int32_t, 1>("i32")) == values_of(i32));
  CHECK(values_of(f.get<std::int16_t, 1>("i16")) == values_of(i16));
  CHECK(values_of(f.get<std::int8_t, 1>("i8")) == values_of(i8));
  CHECK(values_of(f.get<std::uint8_t, 2>("u8")) == values_of(u8));
  CHECK(values_of(f.get<bool, 1>("bool")) == values_of(b));
  CHECK(f.get<float, 0>("scalar").data()[0] == 42.0f);
  CHECK(f.get<float, 2>("empty").shape() == ras::Shape<2>{0, 5});
  // Conversions on load.
  CHECK(values_of(f.get<double, 2>("f32")) == std::vector<double>{0.5, -1.25, 3.0, double(1e-3f), -0.0, double(1e30f)});
  CHECK(values_of(f.get<float, 1>("f64")) ==
        std::vector<float>{0.1f, -std::numeric_limits<float>::infinity(), 4.5f});
  CHECK(values_of(f.get<float, 1>("i64")) == std::vector<float>{-3.0f, 1099511627776.0f, 7.0f});
  CHECK(values_of(f.get<std::int64_t, 1>("i8")) == std::vector<std::int64_t>{-128, 0, 127});
  CHECK(values_of(f.get<std::int64_t, 1>("bool")) == std::vector<std::int64_t>{1, 0, 1});
  CHECK(values_of(f.get<float, 1>("as_f16")) == values_of(halves) );
  CHECK(values_of(f.get<float, 1>("as_bf16")) == std::vector<float>{1.0f, -2.5f, std::ldexp(1.0f, -24), 1.0f});
  CHECK(values_of(f.get<std::int64_t, 2>("u8")) == std::vector<std::int64_t>{0, 1, 254, 255});
  CHECK(values_of(f.get<double, 1>("i64_as_i32")) == std::vector<double>{-3, 1099511627776.0, 7});
  std::vector<float> dst(6);
  f.get_into("f32", dst.data(), {2, 3});
  CHECK(dst == values_of(f32));

  // Errors name the file and the tensor, with expected and actual values.
  std::string e = error_of([&] { (void)f.get<float, 1>("f32"); });
  CHECK(contains(e, path));
  CHECK(contains(e, "'f32'"));
  CHECK(contains(e, "(2, 3)"));
  CHECK(contains(e, "rank-1"));
  e = error_of([&] { f.get_into("f32", dst.data(), {3, 2}); });
  CHECK(contains(e, "expected shape (3, 2) but the file holds shape (2, 3)"));
  e = error_of([&] { (void)f.get<std::int64_t, 2>("f32"); });
  CHECK(contains(e, "cannot convert F32 to I64"));
  CHECK(contains(e, path));
  e = error_of([&] { (void)f.get<std::int32_t, 1>("i64"); });
  CHECK(contains(e, "1099511627776"));
  CHECK(contains(e, "does not fit in I32"));
  CHECK(contains(error_of([&] { (void)f.get<std::int8_t, 2>("u8"); }), "254"));
  CHECK(contains(error_of([&] { (void)f.info("nope"); }), "no tensor named 'nope'"));
}

TEST_CASE("io: safetensors files with hand-built F16, BF16, I8 and BOOL bytes") {
  TempDir dir;
  const std::string path = dir.file("hand.safetensors");
  const std::string header =
      R"({"__metadata__":{"k":"\u00e9\ud83d\ude00 \"q\" \/"},"h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},)"
      R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},)"
      R"("c":{"dtype":"I8","shape":[2],"data_offsets":[18,20]},)"
      R"("d":{"dtype":"BOOL","shape":[2],"data_offsets":[20,22],"ignored_field":{"x":[1,2.5e3,null,true]}}})";
  std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  const std::string data = u16_bytes({0x0001, 0x03ff, 0x7c00, 0xfc00, 0x3c00, 0xc000}) +
                           u16_bytes({0x3f81, 0xff80, 0x8000}) + std::string("\x80\x7f", 2) +
                           std::string("\x01\x00", 2);
  write_bytes(path, st_bytes(padded, data));
  io::SafetensorsFile f(path);
  CHECK(f.metadata().at("k") == "\xc3\xa9\xf0\x9f\x98\x80 \"q\" /");  // \u escapes and a surrogate pair
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(values_of(f.get<float, 2>("h")) ==
        std::vector<float>{std::ldexp(1.0f, -24), std::ldexp(1023.0f, -24), inf, -inf, 1.0f, -2.0f});
  CHECK(values_of(f.get<double, 2>("h"))[1] == std::ldexp(1023.0, -24));
  auto bf = f.get<float, 1>("b");
  CHECK(bf(0) == 1.0078125f);
  CHECK(bf(1) == -inf);
  CHECK((bf(2) == 0.0f && std::signbit(bf(2))));
  CHECK(values_of(f.get<std::int8_t, 1>("c")) == std::vector<std::int8_t>{-128, 127});
  CHECK(values_of(f.get<float, 1>("c")) == std::vector<float>{-128.0f, 127.0f});
  CHECK(values_of(f.get<bool, 1>("d")) == std::vector<bool>{true, false});
  CHECK(values_of(f.get<std::uint8_t, 1>("d")) == std::vector<std::uint8_t>{1, 0});
  CHECK(contains(error_of([&] { (void)f.get<std::uint8_t, 1>("c"); }), "-128"));
  CHECK(contains(error_of([&] { (void)f.get<bool, 1>("c"); }), "does not fit in BOOL"));

  // A BOOL byte other than 0/1 is refused on load.
  write_bytes(path, st_bytes(R"({"d":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}})", std::string("\x02", 1)));
  io::SafetensorsFile g(path);
  CHECK(contains(error_of([&] { (void)g.get<bool, 1>("d"); }), "expected 0 or 1"));
}

TEST_CASE("io: hostile safetensors files end in ras::Error naming the file") {
  TempDir dir;
  const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string d8(8, '\0');
  struct Case {
    const char* name;
    std::string bytes;
    const char* expected;
  };
  std::string deep = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":)" + std::string(5000, '[') +
                     std::string(5000, ']') + "}}";
  const std::vector<Case> cases = {
      {"empty file", "", "fewer than the 8-byte header length"},
      {"shorter than 8 bytes", "\x01\x02\x03", "fewer than the 8-byte header length"},
      {"header past the end", st_bytes("{}", "", 100), "truncated"},
      {"1 GB header", st_bytes("{}", "", std::uint64_t(1) << 30), "1073741824"},
      {"2^64-1 header", st_bytes("{}", "", ~0ull - 1), "truncated"},
      {"unterminated object", st_bytes(R"({"a":{"dtype":"F32")", ""), "header"},
      {"not JSON", st_bytes("hello   ", ""), "header"},
      {"trailing comma", st_bytes(R"({"__metadata__":{"k":"v",}})", ""), "expected a string"},
      {"trailing garbage", st_bytes("{} x", ""), "unexpected data after"},
      {"bad escape", st_bytes(R"({"a\q":1})", ""), "invalid escape"},
      {"control character", st_bytes("{\"a\x01\":1}", ""), "control character"},
      {"lone surrogate", st_bytes(R"({"\ud800":1})", ""), "surrogate"},
      {"deep nesting", st_bytes(deep, d8), "nested deeper"},
      {"array at top level", st_bytes("[1,2]", ""), "must be a JSON object"},
      {"string at top level", st_bytes(R"("x")", ""), "must be a JSON object"},
      {"entry not an object", st_bytes(R"({"a":5})", ""), "tensor 'a': expected an object"},
      {"missing dtype", st_bytes(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", d8), "missing field \"dtype\""},
      {"missing shape", st_bytes(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", d8), "missing field \"shape\""},
      {"missing offsets", st_bytes(R"({"a":{"dtype":"F32","shape":[2]}})", d8), "missing field \"data_offsets\""},
      {"dtype not a string", st_bytes(R"({"a":{"dtype":5,"shape":[2],"data_offsets":[0,8]}})", d8),
       "\"dtype\" must be a string"},
      {"unknown dtype", st_bytes(R"({"a":{"dtype":"F8","shape":[2],"data_offsets":[0,8]}})", d8), "unknown dtype"},
      {"shape not an array", st_bytes(R"({"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", d8),
       "must be an array of integers"},
      {"shape with a float", st_bytes(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}})", d8),
       "fraction or exponent"},
      {"shape with a string", st_bytes(R"({"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", d8),
       "must be an array of integers"},
      {"shape with leading zero", st_bytes(R"({"a":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}})", d8),
       "leading zeros"},
      {"negative extent", st_bytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", d8), "negative"},
      {"more than 2^40 elements",
       st_bytes(R"({"a":{"dtype":"U8","shape":[1048576,1048576,2],"data_offsets":[0,8]}})", d8), "2^40"},
      {"overflowing shape product",
       st_bytes(R"({"a":{"dtype":"U8","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", d8),
       "2^40"},
      {"integer beyond 64 bits",
       st_bytes(R"({"a":{"dtype":"U8","shape":[99999999999999999999],"data_offsets":[0,8]}})", d8), "64-bit range"},
      {"rank 65", st_bytes(R"({"a":{"dtype":"U8","shape":[)" + [] {
                            std::string s = "1";
                            for (int i = 0; i < 64; ++i) s += ",1";
                            return s;
                          }() + R"(],"data_offsets":[0,1]}})",
                           std::string(1, '\0')),
       "more than 64"},
      {"one offset", st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", d8), "must hold 2"},
      {"three offsets", st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", d8),
       "more than 2"},
      {"negative offset", st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", d8),
       "must not be negative"},
      {"begin > end", st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", d8), "begin > end"},
      {"size mismatch", st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", d8.substr(4)),
       "need 8 bytes"},
      {"data past the end", st_bytes("{" + ok_entry + "}", d8.substr(4)), "reach past the end"},
      {"overlapping tensors",
       st_bytes("{" + ok_entry + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", d8 + d8.substr(4)),
       "overlap"},
      {"gap between tensors",
       st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                d8 + d8.substr(4)),
       "gaps are not allowed"},
      {"trailing bytes", st_bytes("{" + ok_entry + "}", d8 + d8), "trailing bytes"},
      {"duplicate tensor", st_bytes("{" + ok_entry + "," + ok_entry + "}", d8), "duplicate tensor name"},
      {"duplicate field", st_bytes(R"({"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", d8),
       "duplicate field \"dtype\""},
      {"duplicate metadata", st_bytes(R"({"__metadata__":{},"__metadata__":{}})", ""), "duplicate key"},
      {"metadata not an object", st_bytes(R"({"__metadata__":[1]})", ""), "must be an object"},
      {"metadata value not a string", st_bytes(R"({"__metadata__":{"k":1}})", ""), "must be a string"},
      {"duplicate metadata key", st_bytes(R"({"__metadata__":{"k":"a","k":"b"}})", ""), "duplicate"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string path = dir.file("hostile_" + std::to_string(i) + ".safetensors");
    write_bytes(path, cases[i].bytes);
    const std::string msg = error_of([&] { io::SafetensorsFile f(path); });
    const std::string context = std::string(cases[i].name) + ": " + msg;
    INFO(context);
    CHECK(contains(msg, path));
    CHECK(contains(msg, cases[i].expected));
  }
  // A missing file and a folder are reported too.
  CHECK(contains(error_of([&] { io::SafetensorsFile f(dir.file("absent.safetensors")); }), "does not exist"));
  CHECK(contains(error_of([&] { io::SafetensorsFile f(dir.path); }), "not a regular file"));
}

TEST_CASE("io: a 1 GB declared safetensors header is refused before allocating") {
  TempDir dir;
  const std::string path = dir.file("huge_header.safetensors");
  // Header length 1 GB (and 200 MB) followed by a few real bytes.
  for (std::uint64_t declared : {std::uint64_t(1) << 30, std::uint64_t(200'000'000)}) {
    write_bytes(path, st_bytes(R"({"a":1})", "", declared));
    const auto t0 = std::chrono::steady_clock::now();
    const std::string msg = error_of([&] { io::SafetensorsFile f(path); });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(contains(msg, path));
    CHECK(contains(msg, std::to_string(declared)));
    CHECK(contains(msg, "only 7 bytes follow"));
    CHECK(seconds < 0.5);
  }
  // A real (sparse) 200 MB file declaring a 150 MB header: refused by the 100 MB cap, unread.
  write_bytes(path, st_bytes("{}", "", 150'000'000));
  fs::resize_file(path, 200'000'000);
  const std::string msg = error_of([&] { io::SafetensorsFile f(path); });
  CHECK(contains(msg, path));
  CHECK(contains(msg, "more than the limit of 100000000"));
}

TEST_CASE("io: npy round trips of every dtype") {
  TempDir dir;
  auto f32 = ras::Tensor<float, 2>::from({2, 3}, {0.5f, -1.25f, 3.0f, 1e-3f, -0.0f, 1e30f});
  auto f64 = ras::Tensor<double, 0>::full({}, 0.1);
  auto i64 = ras::Tensor<std::int64_t, 1>::from({3}, {-3, std::int64_t(1) << 40, 7});
  auto i32 = ras::Tensor<std::int32_t, 3>::from({1, 2, 1}, {-7, 100000});
  auto i16 = ras::Tensor<std::int16_t, 1>::from({2}, {-300, 300});
  auto i8 = ras::Tensor<std::int8_t, 1>::from({2}, {-128, 127});
  auto u8 = ras::Tensor<std::uint8_t, 1>::from({3}, {0, 7, 255});
  auto b = ras::Tensor<bool, 2>::from({1, 3}, {true, false, true});
  auto empty = ras::Tensor<float, 2>({0, 4});
  io::save_npy(dir.file("f32.npy"), f32);
  io::save_npy(dir.file("f64.npy"), f64);
  io::save_npy(dir.file("i64.npy"), i64);
  io::save_npy(dir.file("i32.npy"), i32);
  io::save_npy(dir.file("i16.npy"), i16);
  io::save_npy(dir.file("i8.npy"), i8);
  io::save_npy(dir.file("u8.npy"), u8);
  io::save_npy(dir.file("b.npy"), b);
  io::save_npy(dir.file("empty.npy"), empty);
  CHECK(values_of(io::load_npy<float, 2>(dir.file("f32.npy"))) == values_of(f32));
  CHECK(io::load_npy<double, 0>(dir.file("f64.npy")).data()[0] == 0.1);
  CHECK(values_of(io::load_npy<std::int64_t, 1>(dir.file("i64.npy"))) == values_of(i64));
  CHECK(values_of(io::load_npy<std::int32_t, 3>(dir.file("i32.npy"))) == values_of(i32));
  CHECK(values_of(io::load_npy<std::int16_t, 1>(dir.file("i16.npy"))) == values_of(i16));
  CHECK(values_of(io::load_npy<std::int8_t, 1>(dir.file("i8.npy"))) == values_of(i8));
  CHECK(values_of(io::load_npy<std::uint8_t, 1>(dir.file("u8.npy"))) == values_of(u8));
  CHECK(values_of(io::load_npy<bool, 2>(dir.file("b.npy"))) == values_of(b));
  CHECK(io::load_npy<float, 2>(dir.file("empty.npy")).shape() == ras::Shape<2>{0, 4});
  // Conversions and the layout numpy expects.
  CHECK(values_of(io::load_npy<double, 1>(dir.file("i64.npy"))) == std::vector<double>{-3, 1099511627776.0, 7});
  CHECK(values_of(io::load_npy<float, 1>(dir.file("u8.npy"))) == std::vector<float>{0, 7, 255});
  const std::string raw = read_bytes(dir.file("f32.npy"));
  const std::size_t hlen = static_cast<unsigned char>(raw[8]) | (static_cast<unsigned char>(raw[9]) << 8);
  CHECK((10 + hlen) % 64 == 0);
  CHECK(raw.substr(10, hlen).rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0) == 0);
  CHECK(raw[10 + hlen - 1] == '\n');
  CHECK(raw.size() == 10 + hlen + 24);
  CHECK(contains(read_bytes(dir.file("i64.npy")), "'shape': (3,)"));
  CHECK(contains(read_bytes(dir.file("f64.npy")), "'shape': ()"));
  auto arr = io::read_npy(dir.file("i32.npy"));
  CHECK(arr.dtype == DType::I32);
  CHECK(arr.shape == std::vector<Index>{1, 2, 1});
  CHECK(arr.values<std::int64_t>() == std::vector<std::int64_t>{-7, 100000});
  // Errors name the file and both ranks / dtypes.
  std::string e = error_of([&] { (void)io::load_npy<float, 1>(dir.file("f32.npy")); });
  CHECK(contains(e, dir.file("f32.npy")));
  CHECK(contains(e, "(2, 3)"));
  CHECK(contains(e, "rank-1"));
  CHECK(contains(error_of([&] { (void)io::load_npy<std::int64_t, 2>(dir.file("f32.npy")); }), "cannot convert F32"));
  CHECK(contains(error_of([&] { (void)io::load_npy<std::int8_t, 1>(dir.file("u8.npy")); }), "does not fit"));
}

TEST_CASE("io: hostile npy files end in ras::Error naming the file") {
  TempDir dir;
  // A .npy file with the given header dict (padded like numpy's), version and data.
  auto npy = [](std::string dict, const std::string& data, int major = 1) {
    const std::size_t len_size = major == 1 ? 2 : 4;
    dict.append((64 - (8 + len_size + dict.size() + 1) % 64) % 64, ' ');
    dict += '\n';
    std::string s = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
    for (std::size_t i = 0; i < len_size; ++i) s += static_cast<char>((dict.size() >> (8 * i)) & 0xff);
    return s + dict + data;
  };
  const std::string d8(8, '\0');
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  std::string huge_len = npy(ok, d8);
  huge_len[8] = '\xff';
  huge_len[9] = '\xff';
  std::string huge_len_v2 = npy(ok, d8, 2);
  for (int i = 8; i < 12; ++i) huge_len_v2[static_cast<std::size_t>(i)] = '\xff';
  std::string bad_version = npy(ok, d8);
  bad_version[6] = '\x09';
  struct Case {
    const char* name;
    std::string bytes;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"empty file", "", "fewer than the 10-byte"},
      {"short file", "\x93NUM", "fewer than the 10-byte"},
      {"bad magic", "\x93NUMPX\x01\x00\x00\x00" + d8, "magic"},
      {"unsupported version", bad_version, "unsupported .npy version 9.0"},
      {"header past the end", huge_len, "truncated"},
      {"v2 header past the end", huge_len_v2, "truncated"},
      {"garbage header", npy("hello", d8), "expected '{'"},
      {"unterminated dict", npy("{'descr': '<f4'", d8), "expected ',' or '}'"},
      {"unterminated string", npy("{'descr: <f4", d8), "unterminated string"},
      {"missing key", npy("{'descr': '<f4', 'fortran_order': False}", d8), "missing key 'shape'"},
      {"extra key", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", d8), "unexpected key 'x'"},
      {"duplicate key", npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", d8),
       "duplicate key 'descr'"},
      {"fortran order", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", d8), "fortran_order is True"},
      {"fortran not a bool", npy("{'descr': '<f4', 'fortran_order': 1, 'shape': (2,), }", d8), "True or False"},
      {"big endian", npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", d8), "big-endian"},
      {"unsupported dtype", npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", d8),
       "unsupported dtype '<c8'"},
      {"object dtype", npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", d8), "unsupported dtype"},
      {"negative extent", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", d8), "non-negative"},
      {"shape not a tuple", npy("{'descr': '<f4', 'fortran_order': False, 'shape': 2, }", d8), "expected '('"},
      {"more than 2^40 elements",
       npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1048576, 1048576, 2), }", d8), "2^40"},
      {"huge extent", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999,), }", d8),
       "larger than 2^40"},
      {"data too short", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", d8), "truncated"},
      {"data too long", npy(ok, d8 + d8), "trailing bytes"},
      {"bool byte 2", npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", std::string("\x01\x02", 2)),
       "expected 0 or 1"},
      {"trailing garbage", npy(ok + " x", d8), "unexpected data after"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string path = dir.file("hostile_" + std::to_string(i) + ".npy");
    write_bytes(path, cases[i].bytes);
    const std::string msg = error_of([&] { (void)io::read_npy(path); });
    const std::string context = std::string(cases[i].name) + ": " + msg;
    INFO(context);
    CHECK(contains(msg, path));
    CHECK(contains(msg, cases[i].expected));
  }
  // The helper above builds valid files too (v1, v2, v3).
  for (int major : {1, 2, 3}) {
    const std::string path = dir.file("valid_v" + std::to_string(major) + ".npy");
    write_bytes(path, npy(ok, std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8), major));
    CHECK(values_of(io::load_npy<float, 1>(path)) == std::vector<float>{1.0f, -2.0f});
  }
}

TEST_CASE("io: files written by Python (numpy) are read exactly") {
  const std::string dir = RAS_SOURCE_DIR "/tests/fixtures/io/";
  io::SafetensorsFile f(dir + "python.safetensors");
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(f.size() == 11);
  CHECK(f.metadata().at("format") == "np");
  CHECK(f.metadata().at("source") == "make_io_fixtures.py");
  CHECK(values_of(f.get<float, 2>("f32")) == std::vector<float>{0.5f, -1.25f, 3.0f, 1e-3f, -0.0f, 65504.0f});
  CHECK(values_of(f.get<float, 1>("f16")) ==
        std::vector<float>{1.0f, -2.5f, std::ldexp(1.0f, -24), std::ldexp(1.0f, -15), 65504.0f, -inf});
  CHECK(values_of(f.get<float, 1>("bf16")) == std::vector<float>{1.0f, -5.0f, inf, 1.0078125f});
  CHECK(values_of(f.get<double, 1>("f64")) == std::vector<double>{0.1, -1e300});
  CHECK(values_of(f.get<std::int64_t, 1>("i64")) == std::vector<std::int64_t>{-3, std::int64_t(1) << 40, 7});
  CHECK(values_of(f.get<std::int64_t, 1>("i32")) == std::vector<std::int64_t>{-7, 100000});
  CHECK(values_of(f.get<std::int16_t, 1>("i16")) == std::vector<std::int16_t>{-300, 300});
  CHECK(values_of(f.get<float, 1>("i8")) == std::vector<float>{-128, 0, 127});
  CHECK(values_of(f.get<std::uint8_t, 2>("u8")) == std::vector<std::uint8_t>{0, 1, 254, 255});
  CHECK(values_of(f.get<bool, 1>("bool")) == std::vector<bool>{true, false, true});
  CHECK(f.get<float, 0>("scalar").data()[0] == 42.0f);

  CHECK(values_of(io::load_npy<float, 2>(dir + "python_f4.npy")) ==
        std::vector<float>{0.5f, -1.25f, 3.0f, 1e-3f, -0.0f, 7.0f});
  CHECK(values_of(io::load_npy<std::int64_t, 1>(dir + "python_i8.npy")) ==
        std::vector<std::int64_t>{-3, std::int64_t(1) << 40, 7});
  CHECK(values_of(io::load_npy<bool, 2>(dir + "python_b1.npy")) == std::vector<bool>{true, false, false, true});
  CHECK(values_of(io::load_npy<float, 1>(dir + "python_f2.npy")) == std::vector<float>{1.0f, std::ldexp(1.0f, -24), -inf});
  CHECK(io::load_npy<double, 0>(dir + "python_f8_scalar.npy").data()[0] == 0.1);
  CHECK(values_of(io::load_npy<std::uint8_t, 1>(dir + "python_u1_v2.npy")) == std::vector<std::uint8_t>{0, 7, 255});
}

TEST_CASE("io: state dict save and strict load round trip") {
  TempDir dir;
  const std::string path = dir.file("tiny.safetensors");
  Tiny a(1.0f), b(5.0f);
  io::save_state_dict(a, path, {{"format", "ras"}, {"arch", "tiny"}});
  io::SafetensorsFile f(path);
  CHECK(f.keys() == std::vector<std::string>{"weight", "bias", "running_mean", "num_batches_tracked", "sub.weight",
                                             "layers.0.weight", "layers.1.weight"});
  CHECK(f.info("num_batches_tracked").dtype == DType::I64);
  CHECK(f.info("num_batches_tracked").shape.empty());
  CHECK(f.metadata().at("arch") == "tiny");
  const auto report = io::load_state_dict(b, path);
  CHECK(report.ok());
  check_same_state(a, b);
  CHECK(b.weight.requires_grad());
  CHECK(b.num_batches_tracked.data()[0] == 7);
}

TEST_CASE("io: strict load lists every problem at once and changes nothing") {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  Tiny a(1.0f);
  io::SafetensorsWriter w;
  w.add("weight", a.weight.value());
  w.add("bias", ras::Tensor<float, 1>({3}));  // shape mismatch
  w.add("running_mean", a.running_mean);
  w.add("num_batches_tracked", ras::Tensor<float, 0>::full({}, 1.0f));  // float into an integer buffer
  w.add("layers.0.weight", a.layers[0].weight.value());
  w.add("extra.weight", a.bias.value());   // unexpected
  w.add("extra.bias", a.bias.value());     // unexpected
  // missing: sub.weight, layers.1.weight
  w.write(path);
  Tiny b(5.0f);
  const std::string msg = error_of([&] { (void)io::load_state_dict(b, path); });
  INFO(msg);
  CHECK(contains(msg, path));
  CHECK(contains(msg, "Missing key(s) in state_dict: \"sub.weight\", \"layers.1.weight\"."));
  CHECK(contains(msg, "Unexpected key(s) in state_dict: \"extra.weight\", \"extra.bias\"."));
  CHECK(contains(msg, "size mismatch for bias: copying a param with shape (3,) from the file, "
                      "the shape in the module is (2,)."));
  CHECK(contains(msg, "dtype mismatch for num_batches_tracked"));
  CHECK(b.weight.value()(0, 0) == 5.0f);  // nothing was loaded
  CHECK(b.num_batches_tracked.data()[0] == 35);

  // Non-strict: missing and unexpected names are reported, mismatches still throw.
  const std::string msg2 = error_of([&] { (void)io::load_state_dict(b, path, io::LoadOptions{false, ""}); });
  CHECK(contains(msg2, "size mismatch for bias"));
  CHECK(!contains(msg2, "Missing key"));
}

TEST_CASE("io: non-strict load, dtype conversion, prefixes and extra tensors") {
  TempDir dir;
  const std::string path = dir.file("mixed.safetensors");
  Tiny a(2.0f);
  io::SafetensorsWriter w;
  w.set_metadata("step", "3");
  io::add_state_dict(w, a, "model.");
  w.add("optim.m.weight", ras::Tensor<double, 2>::full({2, 3}, 0.25));
  w.write(path);

  // Strict load of the "model." part, ignoring "optim.".
  Tiny b(9.0f);
  io::SafetensorsFile f(path);
  CHECK(io::load_state_dict(b, f, io::LoadOptions{true, "model."}).ok());
  check_same_state(a, b);
  // Without the prefix every name is both missing and unexpected.
  CHECK(contains(error_of([&] { (void)io::load_state_dict(b, f); }), "\"model.weight\""));
  // Extra tensors through read_into (F64 file -> float tensor).
  auto m = ras::Tensor<float, 2>({2, 3});
  io::read_into(f, "optim.m.weight", m);
  CHECK(values_of(m) == std::vector<float>(6, 0.25f));
  auto wrong = ras::Tensor<float, 2>({3, 2});
  CHECK(contains(error_of([&] { io::read_into(f, "optim.m.weight", wrong); }), "expected shape (3, 2)"));

  // A partial file in other dtypes: F16 weight, F64 bias, I32 counter; non-strict reports the rest.
  const std::string partial = dir.file("partial.safetensors");
  io::SafetensorsWriter p;
  auto wv = ras::Tensor<float, 2>::from({2, 3}, {0.5f, 1.5f, -2.0f, 1024.0f, 0.1f, 3.0f});
  p.add("weight", wv, DType::F16);
  p.add("bias", ras::Tensor<double, 1>::from({2}, {0.1, -7.0}));
  p.add("num_batches_tracked", ras::Tensor<std::int32_t, 0>::full({}, 123));
  p.add("running_var", ras::Tensor<float, 1>({3}));
  p.write(partial);
  Tiny c(4.0f);
  const auto report = io::load_state_dict(c, partial, io::LoadOptions{false, ""});
  CHECK(report.missing == std::vector<std::string>{"running_mean", "sub.weight", "layers.0.weight", "layers.1.weight"});
  CHECK(report.unexpected == std::vector<std::string>{"running_var"});
  CHECK(!report.ok());
  CHECK(values_of(c.weight.value()) ==
        std::vector<float>{0.5f, 1.5f, -2.0f, 1024.0f, io::f16_to_float(io::float_to_f16(0.1f)), 3.0f});
  CHECK(values_of(c.bias.value()) == std::vector<float>{0.1f, -7.0f});
  CHECK(c.num_batches_tracked.data()[0] == 123);
  CHECK(c.running_mean(0) == 3.0f);  // untouched
  // Strict mode refuses the same file.
  CHECK(contains(error_of([&] { (void)io::load_state_dict(c, partial); }), "Unexpected key(s) in state_dict: \"running_var\""));
}

TEST_CASE("io: writes are atomic and failures name the path") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  Tiny a(1.0f), b(3.0f);
  io::save_state_dict(a, path);
  io::save_state_dict(b, path);  // replaces the first file
  io::save_npy(dir.file("x.npy"), b.running_mean);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"model.safetensors", "x.npy"});  // no temporary left behind
  Tiny c(0.0f);
  io::load_state_dict(c, path);
  check_same_state(b, c);
  const std::string missing_dir = dir.file("no/such/folder/m.safetensors");
  CHECK(contains(error_of([&] { io::save_state_dict(a, missing_dir); }), missing_dir));
  CHECK(contains(error_of([&] { io::save_npy(missing_dir, b.running_mean); }), missing_dir));
}
