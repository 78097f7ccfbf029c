// ras/data/dataset.hpp — finds the images of one class folder of an anomaly-detection dataset
// (paths and labels only; nothing is read). Layouts, as the datasets ship them:
//   MVTec AD / MPDD  CLASS/train/good, CLASS/test/<type> (good = normal),
//                    CLASS/ground_truth/<type>/<stem>_mask.<ext>           (Bergmann et al. 2019)
//   BTAD             CLASS/train/ok, CLASS/test/ok|ko, CLASS/ground_truth/ko/<stem>.png|.bmp
//   VisA (1cls)      CLASS/train/good, CLASS/test/good|bad, CLASS/ground_truth/bad/<stem>.png
//   Folder           DIR/normal, DIR/anomalous (optional), DIR/masks/<stem>[_mask].* (optional),
//                    DIR/train (optional; without it DIR/normal is used for training AND testing)
// Samples are sorted (train by file name; test: normal type first, then the defect types in
// name order, each by file name), so the order is the same on every machine. A sample's label
// comes from its folder; the RAS reference derives the image label from the mask (any non-zero
// pixel), which agrees whenever every anomalous image has a non-empty mask.
#pragma once

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ras/config.hpp"

namespace ras::data {

namespace fs = std::filesystem;

enum class Layout { Auto, MVTec, MPDD, BTAD, VisA, Folder };
enum class Split { Train, Test };

// What to do with an anomalous test image whose mask is missing where the layout has masks.
// Warn keeps the image (is_anomalous from its folder, empty mask_path) and records a warning.
enum class MissingMask { Error, Warn };

struct Sample {
  fs::path path;
  std::string class_name;   // the class folder's name
  Split split = Split::Train;
  std::string defect_type;  // the folder: "good" / "ok" / "normal" for normal images
  bool is_anomalous = false;
  fs::path mask_path;       // empty for normal images (all-zero mask) and for missing masks
};

struct DatasetOptions {
  Layout layout = Layout::Auto;
  MissingMask missing_mask = MissingMask::Error;
  bool print_warnings = true;  // also write each warning to std::cerr
};

struct ClassDataset {
  std::string class_name;
  fs::path root;
  Layout layout = Layout::Auto;  // the layout used (never Auto)
  std::vector<Sample> train, test;
  std::vector<std::string> warnings;

  Index num_normal_test() const { return count([](const Sample& s) { return !s.is_anomalous; }); }
  Index num_anomalous_test() const { return count([](const Sample& s) { return s.is_anomalous; }); }
  Index num_masks() const { return count([](const Sample& s) { return !s.mask_path.empty(); }); }

 private:
  template <class P>
  Index count(P p) const {
    return static_cast<Index>(std::count_if(test.begin(), test.end(), p));
  }
};

inline const char* layout_name(Layout l) {
  switch (l) {
    case Layout::Auto: return "auto";
    case Layout::MVTec: return "mvtec";
    case Layout::MPDD: return "mpdd";
    case Layout::BTAD: return "btad";
    case Layout::VisA: return "visa";
    case Layout::Folder: return "folder";
  }
  return "?";
}

// "auto", "mvtec", "mpdd", "btad", "visa", "folder" (case-insensitive).
inline Layout parse_layout(std::string_view name) {
  std::string s(name);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (Layout l : {Layout::Auto, Layout::MVTec, Layout::MPDD, Layout::BTAD, Layout::VisA, Layout::Folder})
    if (s == layout_name(l)) return l;
  ras::detail::throw_error("dataset: expected a layout among auto, mvtec, mpdd, btad, visa, folder but got '",
                      name, "'");
}

// .png .jpg .jpeg .bmp .tif .tiff in any case; hidden files (".name") are not images.
inline bool is_image_file(const fs::path& p) {
  std::string name = p.filename().string();
  if (name.empty() || name[0] == '.') return false;
  std::string ext = p.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tif" || ext == ".tiff";
}

namespace detail {
inline bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// Entries of a directory (files or sub-directories), sorted by name.
inline std::vector<fs::path> list_dir(const fs::path& dir, bool dirs) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (dirs ? it->is_directory(ec2) : (it->is_regular_file(ec2) && is_image_file(it->path())))
      out.push_back(it->path());
  }
  RAS_CHECK(!ec, "dataset: cannot list folder '", dir.string(), "': ", ec.message());
  std::sort(out.begin(), out.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
  return out;
}

// Mask files by the stem of the image they belong to (suffix such as "_mask" removed; with
// accept_plain, "<stem>.*" also counts). Pure (no file system access): the fuzz harness calls it.
inline std::map<std::string, fs::path> pair_masks(const std::vector<fs::path>& files, const std::string& suffix,
                                                  bool accept_plain) {
  std::map<std::string, fs::path> out;
  for (const auto& p : files) {
    std::string stem = p.stem().string();
    bool has_suffix = !suffix.empty() && stem.size() > suffix.size() &&
                      stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0;
    if (has_suffix)
      stem.resize(stem.size() - suffix.size());
    else if (!suffix.empty() && !accept_plain)
      continue;
    auto [it, inserted] = out.emplace(stem, p);
    RAS_CHECK(inserted, "dataset: expected one mask per image but found two for '", stem, "': '",
              it->second.string(), "' and '", p.string(), "'");
  }
  return out;
}

// The image files of a mask folder, paired by pair_masks (empty when the folder does not exist).
inline std::map<std::string, fs::path> masks_by_stem(const fs::path& dir, const std::string& suffix,
                                                     bool accept_plain) {
  if (!is_dir(dir)) return {};
  return pair_masks(list_dir(dir, false), suffix, accept_plain);
}
}  // namespace detail

// Guesses the layout of a class folder. Throws when the folder is missing or matches none.
inline Layout detect_layout(const fs::path& dir) {
  RAS_CHECK(detail::is_dir(dir), "dataset: folder '", dir.string(), "' does not exist");
  if (detail::is_dir(dir / "train" / "ok") || detail::is_dir(dir / "test" / "ok") ||
      detail::is_dir(dir / "test" / "ko"))
    return Layout::BTAD;
  if (detail::is_dir(dir / "train" / "good") || detail::is_dir(dir / "test")) {
    bool bad = false, other = false;
    for (const auto& t : detail::list_dir(dir / "test", true)) {
      std::string n = t.filename().string();
      bad |= n == "bad";
      other |= n != "bad" && n != "good";
    }
    return (bad && !other) ? Layout::VisA : Layout::MVTec;
  }
  if (detail::is_dir(dir / "normal")) return Layout::Folder;
  std::string hint;
  for (const auto& sub : detail::list_dir(dir, true))
    if (detail::is_dir(sub / "train") || detail::is_dir(sub / "normal")) {
      hint = " ('" + dir.string() + "' looks like a dataset root: pass one class folder such as '" +
             sub.string() + "')";
      break;
    }
  ras::detail::throw_error("dataset: cannot detect the layout of '", dir.string(),
                      "': expected train/good + test/<type> (MVTec AD, MPDD, VisA), train/ok + test/ok|ko "
                      "(BTAD) or normal/ [+ anomalous/, masks/, train/] (folder)",
                      hint);
}

namespace detail {
inline void warn(ClassDataset& ds, const DatasetOptions& opt, std::string msg) {
  if (opt.print_warnings) std::cerr << "ras::data warning: " << msg << "\n";
  ds.warnings.push_back(std::move(msg));
}

inline void add_train(ClassDataset& ds, const fs::path& dir, const std::string& type) {
  RAS_CHECK(is_dir(dir), "dataset: no training images: folder '", dir.string(), "' does not exist (",
            layout_name(ds.layout), " layout)");
  for (const auto& p : list_dir(dir, false))
    ds.train.push_back({p, ds.class_name, Split::Train, type, false, {}});
  RAS_CHECK(!ds.train.empty(), "dataset: no training images: expected at least one .png/.jpg/.jpeg/.bmp/.tif "
            "file in '", dir.string(), "' but found 0");
}

// Test images of one folder; masks looked up in `masks` when masks are expected.
// mask_dir / mask_name are only used in the message about a missing mask.
inline void add_test(ClassDataset& ds, const DatasetOptions& opt, const fs::path& dir, const std::string& type,
                     bool anomalous, const std::map<std::string, fs::path>* masks, const fs::path& mask_dir,
                     const std::string& mask_name) {
  for (const auto& p : list_dir(dir, false)) {
    Sample s{p, ds.class_name, Split::Test, type, anomalous, {}};
    if (anomalous && masks) {
      auto it = masks->find(p.stem().string());
      if (it != masks->end()) {
        s.mask_path = it->second;
      } else {
        std::string msg = "no mask for anomalous image '" + p.string() + "' (expected " +
                          (mask_dir / (p.stem().string() + mask_name)).string() + ")";
        RAS_CHECK(opt.missing_mask == MissingMask::Warn, "dataset: ", msg,
                  "; pass MissingMask::Warn to keep it with its folder label and no mask");
        warn(ds, opt, msg + "; kept as anomalous (label from its folder) without a mask");
      }
    }
    ds.test.push_back(std::move(s));
  }
}

// MVTec AD, MPDD, VisA, BTAD: CLASS/train/<normal>, CLASS/test/<type>, CLASS/ground_truth/<type>.
inline void discover_split_layout(ClassDataset& ds, const DatasetOptions& opt, const std::string& normal,
                                  const std::string& mask_suffix) {
  const fs::path& root = ds.root;
  add_train(ds, root / "train" / normal, normal);
  RAS_CHECK(is_dir(root / "test"), "dataset: folder '", (root / "test").string(), "' does not exist (",
            layout_name(ds.layout), " layout)");
  auto types = list_dir(root / "test", true);
  std::stable_partition(types.begin(), types.end(), [&](const fs::path& t) { return t.filename() == normal; });
  for (const auto& t : types) {
    std::string type = t.filename().string();
    bool anomalous = type != normal;
    fs::path gt = root / "ground_truth" / type;
    auto masks = anomalous ? masks_by_stem(gt, mask_suffix, false) : std::map<std::string, fs::path>{};
    add_test(ds, opt, t, type, anomalous, &masks, gt, mask_suffix + ".png");
  }
}

// DIR/normal, DIR/anomalous, DIR/masks, DIR/train.
inline void discover_folder_layout(ClassDataset& ds, const DatasetOptions& opt) {
  const fs::path& root = ds.root;
  RAS_CHECK(is_dir(root / "normal"), "dataset: folder '", (root / "normal").string(),
            "' does not exist (folder layout: DIR/normal, DIR/anomalous, optional DIR/masks and DIR/train)");
  if (is_dir(root / "train")) {
    add_train(ds, root / "train", "train");
  } else {
    add_train(ds, root / "normal", "normal");
    warn(ds, opt, "no '" + (root / "train").string() + "': training on '" + (root / "normal").string() +
                      "', whose images are also the normal test images (optimistic image-level scores)");
  }
  add_test(ds, opt, root / "normal", "normal", false, nullptr, {}, {});
  if (!is_dir(root / "anomalous")) return;
  bool has_masks = is_dir(root / "masks");
  auto masks = masks_by_stem(root / "masks", "_mask", true);
  add_test(ds, opt, root / "anomalous", "anomalous", true, has_masks ? &masks : nullptr, root / "masks", ".*");
}
}  // namespace detail

// All samples of one class folder. Throws ras::Error for a missing folder, no training images, an
// undetectable layout, or (with MissingMask::Error) an anomalous test image without its mask.
// Files with other extensions (.txt, .json, hidden files) are ignored.
inline ClassDataset discover(const fs::path& class_dir, const DatasetOptions& opt = {}) {
  RAS_CHECK(detail::is_dir(class_dir), "dataset: folder '", class_dir.string(), "' does not exist");
  ClassDataset ds;
  ds.root = class_dir;
  std::error_code ec;
  fs::path name = fs::weakly_canonical(class_dir, ec);
  if (ec) name = fs::absolute(class_dir).lexically_normal();
  if (name.filename().empty()) name = name.parent_path();  // trailing separator
  ds.class_name = name.filename().string();
  ds.layout = opt.layout == Layout::Auto ? detect_layout(class_dir) : opt.layout;
  switch (ds.layout) {
    case Layout::MVTec:
    case Layout::MPDD: detail::discover_split_layout(ds, opt, "good", "_mask"); break;
    case Layout::VisA: detail::discover_split_layout(ds, opt, "good", ""); break;
    case Layout::BTAD: detail::discover_split_layout(ds, opt, "ok", ""); break;
    case Layout::Folder: detail::discover_folder_layout(ds, opt); break;
    case Layout::Auto: break;
  }
  return ds;
}

}  // namespace ras::data
