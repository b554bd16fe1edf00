/// \file
/// The training recipe: the settings of Trainer's iteration, and one table of
/// them. Each row is a setting's name (config.json, checkpoints), its value
/// as JSON, and the command-line switch that sets it with its help line, so
/// a new switch is a Recipe field and a row: --help, parsing, config.json
/// and --resume's check all read the table.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/gan/parse.hpp"
#include "tinygan/io/checkpoint.hpp"
#include "tinygan/core/json.hpp"

namespace tinygan::gan {

/// The generator's loss against "real" labels: BCE, or (the inverted model's
/// recipe) the mean squared logarithmic error between D's output and 1.
enum class GeneratorLoss { bce, msle };

/// D's and G's adversarial losses: the non-saturating GAN's binary
/// cross-entropy (docs/models.md's); the Wasserstein critic's, D(fake) -
/// D(real) for D and -D(fake) for G (WGAN; WGAN-GP with Recipe::gp_lambda);
/// or the hinge loss, relu(1 - D(real)) + relu(1 + D(fake)) for D and
/// -D(fake) for G (Geometric GAN, SNGAN). The last two need D's raw score.
enum class AdversarialLoss { bce, wasserstein, hinge };

/// What a discriminator outputs, as whoever builds it declares: a
/// probability per sample (from a final Sigmoid; the default) or a logit.
enum class DiscriminatorOutput { probabilities, logits };

struct Recipe {
  double lr_g = 2e-4, lr_d = 2e-4;
  double beta1 = 0.5, beta2 = 0.999;
  GeneratorLoss g_loss = GeneratorLoss::bce;
  /// Declares what D outputs: logits (the losses are BCE-with-logits) or, by
  /// default, probabilities from a final Sigmoid. The programs build D to match.
  bool d_logits = false;
  /// Beyond docs/models.md, each off by default (docs/results.md measures them):
  double real_label = 1.0;   // D's target for real samples; 0.9 is one-sided label smoothing
  double ema_decay = 0;      // above 0: sample from a moving average of G's weights
  int d_steps = 1;           // D steps (each on its own batch) per G step
  bool reuse_fakes = false;  // the G step reuses the last D step's noise (and its pass through G)
  double pixel_loss = 0;     // paired models: add this weight x MSE(G(x), x's real target), as pix2pix
  bool he_init = false;      // the programs redraw G's and D's hidden layers He-normal (nn::init::he_normal_hidden)
  bool lr_decay = false;     // both learning rates fall linearly to 0 over the run's second half
  double r1_gamma = 0;       // above 0: add the R1 gradient penalty on real samples to D's loss (gradient_penalty.hpp)
  int r1_every = 1;          // lazy R1 (StyleGAN2): the penalty in every k-th iteration only, weighted k times
  /// Above 0: AC-GAN (Odena et al., 2017). A conditional D also classifies
  /// what it sees: it outputs [N, 1 + classes], its score then class logits,
  /// and this weight x the cross-entropy against the classes joins both
  /// losses (D's on the reals' and the fakes' classes, G's on those it asked for).
  double ac_gan = 0;
  AdversarialLoss loss = AdversarialLoss::bce;
  /// Above 0: WGAN-GP (Gulrajani et al., 2017), this weight x the mean of
  /// (|d D(x) / dx| - 1)^2 at random interpolates of real and fake samples,
  /// added to D's loss. D must be a critic: no BatchNorm (the programs build one).
  double gp_lambda = 0;
  /// D's weighted layers spectrally normalized (nn/spectral_norm.hpp; the programs build such a critic).
  bool spectral_norm = false;

  /// Whether the programs build D as their critic variant (no BatchNorm).
  bool wants_critic() const { return gp_lambda > 0 || spectral_norm; }
};

inline DiscriminatorOutput discriminator_output(const Recipe& r) {
  return r.d_logits ? DiscriminatorOutput::logits : DiscriminatorOutput::probabilities;
}

/// One row of the recipe's table. A row without a setting is a switch that
/// only sets others (--lr); one without a flag is a setting no switch changes.
struct RecipeRow {
  std::string setting;  // the name in config.json and in checkpoints ("recipe." + setting)
  std::function<std::string(const Recipe&)> json;
  std::string flag, value_name, help;  // "--lr-g", "X" (empty: an on/off switch), the --help text
  /// Parses the switch's value (nothing for an on/off switch) into the recipe;
  /// a bad value throws UsageError naming the program and the flag.
  std::function<void(Recipe&, const std::string& program, const std::string& value)> set;
  /// Only for models whose G takes an image (--pixel-loss), only for
  /// programs that train with labels (--ac-gan), or only for programs whose
  /// D has a critic variant (--gp, --wgan-gp, --spectral-norm).
  enum class Needs { nothing, paired, conditional, critic } needs = Needs::nothing;
};

namespace detail {
inline std::string json_number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}
inline std::string json_flag(bool on) { return on ? "true" : "false"; }

inline const char* loss_name(AdversarialLoss loss) {
  switch (loss) {
    case AdversarialLoss::wasserstein: return "wasserstein";
    case AdversarialLoss::hinge: return "hinge";
    case AdversarialLoss::bce: break;
  }
  return "bce";
}
inline AdversarialLoss parse_loss(const std::string& program, const std::string& name) {
  for (const auto loss : {AdversarialLoss::bce, AdversarialLoss::wasserstein, AdversarialLoss::hinge})
    if (name == loss_name(loss)) return loss;
  throw UsageError(program + ": --loss expects bce, wasserstein or hinge, found '" + name + "'");
}

/// Rows for the common kinds of setting.
inline RecipeRow number_row(std::string setting, double Recipe::*field, std::string flag, std::string value_name,
                            std::string help, double lo, double hi) {
  const std::string f = flag;
  return {setting, [field](const Recipe& r) { return json_number(r.*field); }, flag, value_name, help,
          [field, f, lo, hi](Recipe& r, const std::string& p, const std::string& v) {
            r.*field = parse_real(p, f, v, lo, hi);
          }};
}
/// A weight or decay in [0, hi), where 0 turns it off.
inline RecipeRow fraction_row(std::string setting, double Recipe::*field, std::string flag, std::string value_name,
                              std::string help, double hi) {
  const std::string f = flag;
  return {setting, [field](const Recipe& r) { return json_number(r.*field); }, flag, value_name, help,
          [field, f, hi](Recipe& r, const std::string& p, const std::string& v) {
            r.*field = parse_fraction(p, f, v, hi);
          }};
}
inline RecipeRow switch_row(std::string setting, bool Recipe::*field, std::string flag, std::string help) {
  return {setting, [field](const Recipe& r) { return json_flag(r.*field); }, flag, "", help,
          [field](Recipe& r, const std::string&, const std::string&) { r.*field = true; }};
}
inline RecipeRow fixed_row(std::string setting, double Recipe::*field) {
  return {setting, [field](const Recipe& r) { return json_number(r.*field); }, "", "", "", nullptr};
}
}  // namespace detail

/// The table, in the order the switches apply: --lr before --lr-g and --lr-d.
inline const std::vector<RecipeRow>& recipe_table() {
  using namespace detail;
  static const std::vector<RecipeRow> rows = [] {
    std::vector<RecipeRow> t;
    // First, so that the switches below can change any of its settings.
    RecipeRow wgan_gp{"", nullptr, "--wgan-gp", "",
                      "WGAN-GP as its paper trains it: the Wasserstein loss, a critic without\n"
                      "BatchNorm or spectral norm, gradient penalty 10, 5 critic steps per G\n"
                      "step, Adam 1e-4 (0, 0.9)",
                      [](Recipe& r, const std::string&, const std::string&) {
                        r.loss = AdversarialLoss::wasserstein;
                        r.d_logits = true;
                        r.gp_lambda = 10;
                        r.d_steps = 5;
                        r.lr_g = r.lr_d = 1e-4;
                        r.beta1 = 0;
                        r.beta2 = 0.9;
                        r.spectral_norm = false;  // the paper's critic, whatever --recipe chose; --spectral-norm adds it
                      }};
    wgan_gp.needs = RecipeRow::Needs::critic;
    t.push_back(wgan_gp);
    t.push_back({"", nullptr, "--lr", "X", "learning rate of both Adam optimizers [the model's]",
                 [](Recipe& r, const std::string& p, const std::string& v) {
                   r.lr_g = r.lr_d = parse_real(p, "--lr", v, 0.0, 1.0);
                 }});
    t.push_back(number_row("lr_g", &Recipe::lr_g, "--lr-g", "X", "learning rate of G's optimizer", 0.0, 1.0));
    t.push_back(number_row("lr_d", &Recipe::lr_d, "--lr-d", "X", "learning rate of D's optimizer", 0.0, 1.0));
    t.push_back(fixed_row("beta1", &Recipe::beta1));
    t.push_back(fixed_row("beta2", &Recipe::beta2));
    t.push_back({"real_label", [](const Recipe& r) { return json_number(r.real_label); }, "--label-smoothing", "X",
                 "one-sided: D's target for real samples is 1 - X [0]",
                 [](Recipe& r, const std::string& p, const std::string& v) {
                   r.real_label = 1 - parse_fraction(p, "--label-smoothing", v, 0.5);
                 }});
    t.push_back(switch_row("d_logits", &Recipe::d_logits, "--d-logits",
                           "D ends in logits (built without its Sigmoid), losses are BCE-with-logits"));
    t.push_back(fraction_row("ema_decay", &Recipe::ema_decay, "--ema", "DECAY",
                             "sample from a moving average of G's weights, e.g. 0.999 [0: off]", 1.0));
    t.push_back({"d_steps", [](const Recipe& r) { return std::to_string(r.d_steps); }, "--d-steps", "N",
                 "D steps per G step [1]", [](Recipe& r, const std::string& p, const std::string& v) {
                   r.d_steps = static_cast<int>(parse_count(p, "--d-steps", v, 1, 100));
                 }});
    t.push_back(switch_row("reuse_fakes", &Recipe::reuse_fakes, "--reuse-fakes",
                           "the G step reuses the D step's noise and fakes: one G forward pass, not two"));
    RecipeRow pixel = number_row("pixel_loss", &Recipe::pixel_loss, "--pixel-loss", "W",
                                 "add W x the MSE between G(x) and x's paired target to G's loss [0]", 0.0, 1000.0);
    pixel.needs = RecipeRow::Needs::paired;
    t.push_back(pixel);
    t.push_back(fraction_row("r1_gamma", &Recipe::r1_gamma, "--r1", "GAMMA",
                             "add the R1 gradient penalty, GAMMA/2 |d logit/dx|^2 on real samples, to\n"
                             "D's loss [0: off]",
                             1000.0));
    t.push_back({"r1_every", [](const Recipe& r) { return std::to_string(r.r1_every); }, "--r1-every", "K",
                 "lazy R1: the penalty in every K-th iteration only, weighted K times [1]",
                 [](Recipe& r, const std::string& p, const std::string& v) {
                   r.r1_every = static_cast<int>(parse_count(p, "--r1-every", v, 1, 1000));
                 }});
    t.push_back({"loss", [](const Recipe& r) { return json::quote(loss_name(r.loss)); }, "--loss", "NAME",
                 "D's and G's loss: bce (non-saturating), wasserstein or hinge (the last\n"
                 "two on D's raw score: D is built without its Sigmoid) [bce]",
                 [](Recipe& r, const std::string& p, const std::string& v) {
                   r.loss = parse_loss(p, v);
                   if (r.loss != AdversarialLoss::bce) r.d_logits = true;
                 }});
    RecipeRow gp = fraction_row("gp_lambda", &Recipe::gp_lambda, "--gp", "LAMBDA",
                                "WGAN-GP's penalty, LAMBDA (|d D/dx| - 1)^2 at random interpolates of real\n"
                                "and fake samples, on D's loss; D is built as a critic (no BatchNorm) [0: off]",
                                1000.0);
    gp.needs = RecipeRow::Needs::critic;
    t.push_back(gp);
    RecipeRow sn = switch_row("spectral_norm", &Recipe::spectral_norm, "--spectral-norm",
                              "spectral normalization of every weighted layer of D, built as a critic\n"
                              "(no BatchNorm), as SNGAN");
    sn.needs = RecipeRow::Needs::critic;
    t.push_back(sn);
    RecipeRow ac_gan = fraction_row("ac_gan", &Recipe::ac_gan, "--ac-gan", "W",
                                    "with --conditional: D also classifies (AC-GAN), and W x its cross-entropy on\n"
                                    "the classes joins D's loss and G's, e.g. 1 [0: off]",
                                    100.0);
    ac_gan.needs = RecipeRow::Needs::conditional;
    t.push_back(ac_gan);
    t.push_back({"generator_loss",
                 [](const Recipe& r) { return json::quote(r.g_loss == GeneratorLoss::bce ? "bce" : "msle"); },
                 "--g-loss", "NAME", "G's loss against \"real\": bce (non-saturating) or msle [the model's]",
                 [](Recipe& r, const std::string& p, const std::string& v) {
                   if (v != "bce" && v != "msle") throw UsageError(p + ": --g-loss expects bce or msle, found '" + v + "'");
                   r.g_loss = v == "bce" ? GeneratorLoss::bce : GeneratorLoss::msle;
                 }});
    t.push_back(switch_row("he_init", &Recipe::he_init, "--he-init",
                           "draw G's and D's hidden layers He-normal, biases 0 [the model's init]"));
    t.push_back(switch_row("lr_decay", &Recipe::lr_decay, "--lr-decay",
                           "both learning rates fall linearly to 0 over the run's second half\n"
                           "(of its iterations, or of --minutes if the time runs out first)"));
    return t;
  }();
  return rows;
}

/// The switches a command line gave, by row of recipe_table(), as written.
using RecipeSwitches = std::map<std::size_t, std::string>;

/// `base` with each given switch applied, in the table's order.
inline Recipe apply_switches(Recipe base, const RecipeSwitches& given, const std::string& program) {
  for (const auto& [row, value] : given) recipe_table().at(row).set(base, program, value);
  return base;
}

/// The recipe's settings by name, each as its JSON value. config.json lists
/// them, and a checkpoint keeps them so that --resume can refuse to go on
/// with another recipe (a forgotten --recipe best, say). A setting newer than
/// the checkpoint counts as its default, which the run was trained with.
inline std::vector<std::pair<std::string, std::string>> recipe_settings(const Recipe& r) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const RecipeRow& row : recipe_table())
    if (!row.setting.empty()) out.emplace_back(row.setting, row.json(r));
  return out;
}

inline void save_recipe(io::Checkpoint<float>& c, const Recipe& recipe) {
  for (const auto& [name, value] : recipe_settings(recipe)) c.put_text("recipe." + name, value);
}

/// --resume goes on with the recipe the checkpoint was trained with, or not
/// at all: a different one would silently make a run that no command line
/// reproduces. Checkpoints written before recipes were kept are not checked.
inline void check_resumed_recipe(const io::Checkpoint<float>& c, const Recipe& recipe) {
  if (!c.has_meta("recipe.lr_g")) {
    std::cout << "Note: " << c.source() << " predates recorded recipes; this run's is not checked against it\n";
    return;
  }
  const auto defaults = recipe_settings(Recipe{});
  const auto settings = recipe_settings(recipe);
  for (std::size_t i = 0; i < settings.size(); ++i) {
    const auto& [name, value] = settings[i];
    const std::string trained = c.has_meta("recipe." + name) ? c.meta("recipe." + name) : defaults[i].second;
    check(trained == value, c.source(), ": trained with ", name, " ", trained, ", but this run has ", value,
          ". Resume with the --recipe and switches it was trained with (its config.json lists them)");
  }
}

}  // namespace tinygan::gan
