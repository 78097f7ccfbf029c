// examples/ras/commands.hpp — the subcommands of the `ras` program (one translation unit each).
#pragma once

namespace ras_cli {
int cmd_classify(int argc, char** argv);
int cmd_features(int argc, char** argv);
int cmd_train(int argc, char** argv);
int cmd_score(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_calibrate(int argc, char** argv);
}  // namespace ras_cli
