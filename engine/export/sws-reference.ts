// A learngene in the layout of the official SWS code (AlphaXia/SWS, DeiT/timm based), so
// the same learngene moves between this tool and that PyTorch code both ways: a learngene
// distilled there (torchrun, many GPUs, ImageNet) comes here to be grown, fine-tuned and
// exported; one made here can be grown by that code's `--load-gene --layers-source`.
//
// That code's Aux-Net keeps one module list per part of the block, one instance per stage:
//   ours                          theirs
//   stages.{s}.norm1.weight       blocks.block.norm1.instances.{s}.weight
//   stages.{s}.attn.qkv.bias      blocks.block.attn.qkv.instances.{s}.bias
//   stages.{s}.mlp.fc2.weight     blocks.block.mlp.fc2.instances.{s}.weight   (…)
// and patch_embed.*, pos_embed, cls_token, norm.*, head.* under the same names. Tensors
// keep timm's storage layout on both sides ([out, in] linear weights, pos_embed [1, T, D]).
// Its checkpoints record no stage sizes (they live in the aux model's
// repeated_times_schedule in code), so an import is told them. Pure renaming functions.

import type { TensorMap } from '../io/safetensors.js';

const STAGE = /^stages\.(\d+)\.(.+)\.(weight|bias)$/;
const INSTANCE = /^blocks\.block\.(.+)\.instances\.(\d+)\.(weight|bias)$/;

/** Our learngene's storage tensors → the official SWS code's names. */
export function toSwsReference(tensors: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, tensor] of tensors) {
    const stage = STAGE.exec(name);
    out.set(stage ? `blocks.block.${stage[2]}.instances.${stage[1]}.${stage[3]}` : name, tensor);
  }
  return out;
}

/** The official SWS code's names → ours; every other name passes through. */
export function fromSwsReference(tensors: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, tensor] of tensors) {
    const instance = INSTANCE.exec(name);
    out.set(instance ? `stages.${instance[2]}.${instance[1]}.${instance[3]}` : name, tensor);
  }
  return out;
}

/** Whether tensors are in the official SWS Aux-Net layout (shared blocks as per-stage instances). */
export function isSwsReference(names: Iterable<string>): boolean {
  for (const name of names) if (INSTANCE.test(name)) return true;
  return false;
}

/** How many stages (instances) a reference checkpoint holds. */
export function swsReferenceStages(names: Iterable<string>): number {
  let most = -1;
  for (const name of names) {
    const instance = INSTANCE.exec(name);
    if (instance) most = Math.max(most, Number(instance[2]));
  }
  return most + 1;
}
