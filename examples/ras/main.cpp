// examples/ras/main.cpp — the `ras` command-line program: classify, features, train, score, eval, calibrate.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <new>
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
  // A file-size limit (ulimit -f) must give the same clean "cannot write" error as a full disk:
  // with SIGXFSZ ignored, the write fails with EFBIG and the stream reports it.
  std::signal(SIGXFSZ, SIG_IGN);
  // Standard output that cannot be written (a full disk behind a redirection) is an error too.
  auto finish = [&](int rc) {
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      std::fprintf(stderr, "ras %s: error: cannot write to standard output (%s)\n", cmd.c_str(), std::strerror(errno));
      return rc == 0 ? 1 : rc;
    }
    return rc;
  };
  try {
    if (cmd == "classify") return finish(ras_cli::cmd_classify(argc, argv));
    if (cmd == "features") return finish(ras_cli::cmd_features(argc, argv));
    if (cmd == "train") return finish(ras_cli::cmd_train(argc, argv));
    if (cmd == "score") return finish(ras_cli::cmd_score(argc, argv));
    if (cmd == "eval") return finish(ras_cli::cmd_eval(argc, argv));
    if (cmd == "calibrate") return finish(ras_cli::cmd_calibrate(argc, argv));
    if (cmd == "--version" || cmd == "version") {
      std::printf("ras %s\n", ras::version_string);
      return 0;
    }
    std::fprintf(stderr, "ras: unknown command '%s'\n\n", cmd.c_str());
    usage();
    return 2;
  } catch (const ras::Error& e) {
    // One line: multi-line messages (state_dict mismatch lists) are joined with "; ".
    std::string msg = e.what();
    for (std::size_t p; (p = msg.find('\n')) != std::string::npos;) {
      std::size_t q = p + 1;
      while (q < msg.size() && msg[q] == ' ') ++q;
      msg.replace(p, q - p, "; ");
    }
    std::fprintf(stderr, "ras %s: error: %s\n", cmd.c_str(), msg.c_str());
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    std::fprintf(stderr, "ras %s: error: %s\n", cmd.c_str(), e.what());  // names the path(s)
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "ras %s: error: out of memory\n", cmd.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ras %s: unexpected error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
