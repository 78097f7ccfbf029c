// examples/ras/main.cpp — the `ras` command-line program: classify, features, train, score, eval, calibrate.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "commands.hpp"
#include "ras/config.hpp"

namespace {
void usage() {
  std::printf(
      "ras %s — Reconstruction as Sequence: unified unsupervised anomaly detection\n\n"
      "usage: ras COMMAND [options]   (ras COMMAND --help for the options of one command)\n\n"
      "commands:\n"
      "  classify   top-5 ImageNet classes of images (backbone sanity check)\n"
      "  features   backbone + neck features of images as .npy (N x C x 14 x 14)\n"
      "  train      train one unified RAS model on the normal images of one or more classes\n"
      "  score      anomaly scores (CSV) and heatmaps of images with a trained model\n"
      "  eval       per-class metrics of a trained model on test sets (--report: HTML report)\n"
      "  calibrate  store an image threshold and normalisation range in a model (validation images)\n",
      ras::version_string);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  try {
    if (cmd == "classify") return ras_cli::cmd_classify(argc, argv);
    if (cmd == "features") return ras_cli::cmd_features(argc, argv);
    if (cmd == "train") return ras_cli::cmd_train(argc, argv);
    if (cmd == "score") return ras_cli::cmd_score(argc, argv);
    if (cmd == "eval") return ras_cli::cmd_eval(argc, argv);
    if (cmd == "calibrate") return ras_cli::cmd_calibrate(argc, argv);
    if (cmd == "--version" || cmd == "version") {
      std::printf("ras %s\n", ras::version_string);
      return 0;
    }
    std::fprintf(stderr, "ras: unknown command '%s'\n\n", cmd.c_str());
    usage();
    return 2;
  } catch (const ras::Error& e) {
    std::fprintf(stderr, "ras %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ras %s: unexpected error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
