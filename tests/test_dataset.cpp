// Tests for ras::data::discover: the shared MVTec AD "bottle" and MPDD "metal_plate" folders, and
// small synthetic BTAD / VisA / folder trees (empty files: discovery reads no pixels).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "ras/data/dataset.hpp"
#include "ras/random.hpp"

#ifndef RAS_SHARED_DIR
#error "test_dataset.cpp needs the RAS_SHARED_DIR compile definition (the shared/ folder with data/)"
#endif

namespace fs = std::filesystem;
namespace rd = ras::data;
using ras::Index;

namespace {
fs::path shared_data(const std::string& name) {
  fs::path p = fs::path(RAS_SHARED_DIR) / "data" / name;
  REQUIRE_MESSAGE(fs::is_directory(p),
                  "shared data folder '" << p.string() << "' not found (RAS_SHARED_DIR=" RAS_SHARED_DIR ")");
  return p;
}

// A temporary directory removed at the end of the test.
struct TempTree {
  fs::path root;
  TempTree() {
    ras::Rng rng(std::random_device{}());
    root = fs::temp_directory_path() / ("ras_test_dataset_" + std::to_string(rng.next_u64()));
    fs::create_directories(root);
  }
  ~TempTree() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  void touch(const std::string& rel) const {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << "x";
  }
};

rd::DatasetOptions quiet(rd::Layout layout = rd::Layout::Auto, rd::MissingMask mm = rd::MissingMask::Error) {
  rd::DatasetOptions o;
  o.layout = layout;
  o.missing_mask = mm;
  o.print_warnings = false;
  return o;
}

std::map<std::string, Index> count_types(const rd::ClassDataset& ds) {
  std::map<std::string, Index> m;
  for (const auto& s : ds.test) m[s.defect_type]++;
  return m;
}
}  // namespace

TEST_CASE("dataset: MVTec AD bottle from the shared folder") {
  auto root = shared_data("mvtec_bottle");
  CHECK(rd::detect_layout(root) == rd::Layout::MVTec);
  auto ds = rd::discover(root, quiet());
  CHECK(ds.class_name == "mvtec_bottle");
  CHECK(ds.layout == rd::Layout::MVTec);
  CHECK(ds.train.size() == 209);
  CHECK(ds.num_normal_test() == 20);
  CHECK(ds.num_anomalous_test() == 63);
  CHECK(ds.num_masks() == 63);
  CHECK(ds.warnings.empty());
  auto types = count_types(ds);
  CHECK(types["good"] == 20);
  CHECK(types["broken_large"] == 20);
  CHECK(types["broken_small"] == 22);
  CHECK(types["contamination"] == 21);

  CHECK(ds.train.front().path == root / "train/good/000.png");
  CHECK(ds.train.back().path == root / "train/good/208.png");
  for (const auto& s : ds.train) CHECK((s.split == rd::Split::Train && !s.is_anomalous && s.mask_path.empty()));
  // Test order: good first, then defect types by name, files by name.
  CHECK(ds.test[0].path == root / "test/good/000.png");
  CHECK(!ds.test[0].is_anomalous);
  CHECK(ds.test[0].mask_path.empty());
  const auto& a = ds.test[20];
  CHECK(a.path == root / "test/broken_large/000.png");
  CHECK(a.defect_type == "broken_large");
  CHECK(a.is_anomalous);
  CHECK(a.split == rd::Split::Test);
  CHECK(a.mask_path == root / "ground_truth/broken_large/000_mask.png");
  CHECK(ds.test.back().path == root / "test/contamination/020.png");
  for (const auto& s : ds.test) {
    CHECK(s.class_name == "mvtec_bottle");
    if (s.is_anomalous) CHECK(fs::exists(s.mask_path));
  }
  // A trailing separator gives the same class name and samples.
  auto ds2 = rd::discover(root.string() + "/", quiet());
  CHECK(ds2.class_name == "mvtec_bottle");
  CHECK(ds2.test.size() == ds.test.size());
}

TEST_CASE("dataset: MPDD metal_plate from the shared folder, layout forced") {
  auto root = shared_data("mpdd_metal_plate");
  auto ds = rd::discover(root, quiet(rd::Layout::MPDD));
  CHECK(ds.layout == rd::Layout::MPDD);
  CHECK(ds.train.size() == 60);
  CHECK(ds.num_normal_test() == 20);
  CHECK(ds.num_anomalous_test() == 81);
  CHECK(ds.num_masks() == 81);
  CHECK(count_types(ds)["defect"] == 81);
  CHECK(rd::discover(root, quiet()).layout == rd::Layout::MVTec);  // same layout, auto-detected as MVTec
  CHECK(rd::parse_layout("MPDD") == rd::Layout::MPDD);
  CHECK_THROWS_AS(rd::parse_layout("kitti"), ras::Error);
}

TEST_CASE("dataset: BTAD layout with bmp images, png/bmp masks and ignored files") {
  TempTree t;
  fs::path c = t.root / "01";
  for (auto f : {"train/ok/0001.bmp", "train/ok/0000.bmp", "train/ok/notes.txt", "train/ok/.DS_Store",
                 "test/ok/0000.bmp", "test/ko/0002.bmp", "test/ko/0001.bmp", "ground_truth/ko/0001.png",
                 "ground_truth/ko/0002.bmp"})
    t.touch("01/" + std::string(f));
  CHECK(rd::detect_layout(c) == rd::Layout::BTAD);
  auto ds = rd::discover(c, quiet());
  CHECK(ds.class_name == "01");
  REQUIRE(ds.train.size() == 2);
  CHECK(ds.train[0].path.filename() == "0000.bmp");
  CHECK(ds.train[0].defect_type == "ok");
  REQUIRE(ds.test.size() == 3);
  CHECK(ds.test[0].defect_type == "ok");
  CHECK(!ds.test[0].is_anomalous);
  CHECK(ds.test[1].path == c / "test/ko/0001.bmp");
  CHECK(ds.test[1].mask_path == c / "ground_truth/ko/0001.png");
  CHECK(ds.test[2].mask_path == c / "ground_truth/ko/0002.bmp");

  // The dataset root is not a class folder: the error says so.
  CHECK_THROWS_WITH_AS(rd::discover(t.root, quiet()), doctest::Contains("looks like a dataset root"), ras::Error);
}

TEST_CASE("dataset: VisA 1cls layout, missing masks as error or warning") {
  TempTree t;
  for (auto f : {"train/good/000.JPG", "train/good/001.JPG", "test/good/0100.JPG", "test/bad/000.JPG",
                 "test/bad/001.JPG", "ground_truth/bad/000.png"})
    t.touch("pcb1/" + std::string(f));
  fs::path c = t.root / "pcb1";
  CHECK(rd::detect_layout(c) == rd::Layout::VisA);
  CHECK_THROWS_WITH_AS(rd::discover(c, quiet()), doctest::Contains("ground_truth/bad/001.png"), ras::Error);
  auto ds = rd::discover(c, quiet(rd::Layout::Auto, rd::MissingMask::Warn));
  CHECK(ds.layout == rd::Layout::VisA);
  CHECK(ds.train.size() == 2);
  REQUIRE(ds.test.size() == 3);
  CHECK(ds.test[1].mask_path == c / "ground_truth/bad/000.png");
  CHECK(ds.test[2].is_anomalous);  // label from the folder
  CHECK(ds.test[2].mask_path.empty());
  CHECK(ds.num_masks() == 1);
  REQUIRE(ds.warnings.size() == 1);
  CHECK(ds.warnings[0].find("001.JPG") != std::string::npos);
}

TEST_CASE("dataset: plain folder layout, with and without train/ and masks/") {
  TempTree t;
  for (auto f : {"normal/b.png", "normal/a.png", "anomalous/x.jpg", "anomalous/y.jpg", "masks/x.png",
                 "masks/y_mask.png", "readme.md"})
    t.touch("mine/" + std::string(f));
  fs::path c = t.root / "mine";
  CHECK(rd::detect_layout(c) == rd::Layout::Folder);
  auto ds = rd::discover(c, quiet());
  CHECK(ds.class_name == "mine");
  REQUIRE(ds.train.size() == 2);  // no train/: the normal images
  CHECK(ds.train[0].path == c / "normal/a.png");
  CHECK(ds.warnings.size() == 1);
  REQUIRE(ds.test.size() == 4);
  CHECK(ds.num_normal_test() == 2);
  CHECK(ds.test[2].mask_path == c / "masks/x.png");
  CHECK(ds.test[3].mask_path == c / "masks/y_mask.png");

  t.touch("mine/train/t1.png");
  fs::remove(c / "masks/y_mask.png");
  CHECK_THROWS_WITH_AS(rd::discover(c, quiet()), doctest::Contains("y.jpg"), ras::Error);
  fs::remove_all(c / "masks");  // no masks/ folder: masks are not expected
  auto ds2 = rd::discover(c, quiet());
  CHECK(ds2.warnings.empty());
  REQUIRE(ds2.train.size() == 1);
  CHECK(ds2.train[0].path == c / "train/t1.png");
  CHECK(ds2.num_anomalous_test() == 2);
  CHECK(ds2.num_masks() == 0);
}

TEST_CASE("dataset: missing folders and empty training sets are clear errors") {
  TempTree t;
  CHECK_THROWS_WITH_AS(rd::discover(t.root / "nope", quiet()), doctest::Contains("does not exist"), ras::Error);
  fs::create_directories(t.root / "empty");
  CHECK_THROWS_WITH_AS(rd::discover(t.root / "empty", quiet()), doctest::Contains("cannot detect the layout"),
                       ras::Error);
  t.touch("cls/train/good/info.txt");
  t.touch("cls/test/good/000.png");
  CHECK_THROWS_WITH_AS(rd::discover(t.root / "cls", quiet()), doctest::Contains("no training images"),
                       ras::Error);
  CHECK_THROWS_WITH_AS(rd::discover(t.root / "cls", quiet(rd::Layout::BTAD)), doctest::Contains("train/ok"),
                       ras::Error);
  CHECK_THROWS_WITH_AS(rd::discover(t.root / "cls", quiet(rd::Layout::Folder)), doctest::Contains("normal"),
                       ras::Error);
}
