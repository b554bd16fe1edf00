/// \file
/// A training run's state, saved and loaded in one place: the model's name
/// and recipe (a resume with others is refused), the trainer (G, D, the
/// moving average, both optimizers, the iteration), the noise stream, the
/// source's place in the data, the loss history and the scores. Loading it
/// into a fresh run with the same settings resumes bit for bit.
#pragma once

#include <string>

#include "tinygan/gan/history.hpp"
#include "tinygan/gan/quality.hpp"
#include "tinygan/gan/recipe.hpp"
#include "tinygan/gan/sources.hpp"
#include "tinygan/gan/trainer.hpp"
#include "tinygan/io/checkpoint.hpp"

namespace tinygan::gan {

struct RunState {
  std::string model;  // the checkpoint's "model": a resume into another model is refused
  Trainer& trainer;
  Source& source;  // and its noise stream
  History& history;
  QualityTracker* quality = nullptr;  // none when the run does not score

  void save(io::Checkpoint<float>& c) const {
    c.put_text("model", model);
    save_recipe(c, trainer.recipe());
    c.put_module("generator", trainer.generator());
    c.put_module("discriminator", trainer.discriminator());
    if (trainer.has_ema()) c.put_module("generator_ema", trainer.ema_generator());
    c.put_adam("opt_g", trainer.generator_optimizer());
    c.put_adam("opt_d", trainer.discriminator_optimizer());
    c.put_rng("noise", source.noise());
    source.save(c);
    c.put_int("iteration", trainer.iteration());
    history.save(c);
    if (quality) quality->save(c);
  }

  void load(const io::Checkpoint<float>& c) {
    check(c.meta("model") == model, c.source(), ": a checkpoint of model '", c.meta("model"), "', not '", model,
          "'");
    check_resumed_recipe(c, trainer.recipe());
    c.get_module("generator", trainer.generator());
    c.get_module("discriminator", trainer.discriminator());
    if (trainer.has_ema()) c.get_module("generator_ema", trainer.ema_generator());
    c.get_adam("opt_g", trainer.generator_optimizer());
    c.get_adam("opt_d", trainer.discriminator_optimizer());
    c.get_rng("noise", source.noise());
    source.load(c);
    trainer.set_iteration(c.get_int("iteration"));
    history.load(c);
    if (quality) quality->load(c);
  }
};

}  // namespace tinygan::gan
