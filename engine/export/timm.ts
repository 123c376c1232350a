// timm export: the model's tensors under timm's names and layouts (what
// `timm.models.vision_transformer.VisionTransformer.load_state_dict(strict=True)` takes)
// plus a timm hub-style config.json, so training can continue in PyTorch. Our model
// files already store timm names; this only swaps our metadata for a minimal one and
// spells the config in timm's `model_args`. See docs/timm-export.md.

import { type ViTConfig, attnDim, headDim, mlpHidden } from '../../shared/config.js';
import type { Preprocess } from '../data/types.js';
import type { Provenance } from '../io/model-file.js';
import type { TensorMap } from '../io/safetensors.js';

/** The only LayerNorm eps timm's VisionTransformer builds (norm_layer defaults to LayerNorm(eps=1e-6)). */
export const TIMM_LAYER_NORM_EPS = 1e-6;

export interface TimmExport {
  /** timm names and layouts (unchanged storage tensors). */
  tensors: TensorMap;
  /** safetensors __metadata__: format "pt" like torch-saved checkpoints, plus our config. */
  metadata: Record<string, string>;
  configJson: Record<string, unknown>;
  warnings: string[];
}

/**
 * An mlp_ratio from which timm (hidden = int(dim · mlp_ratio)) and Math.round alike build
 * exactly `width` units: width / dim unless float64 puts that a hair below the integer.
 */
export function timmMlpRatio(dim: number, width: number): number {
  const ratio = width / dim;
  return Math.trunc(dim * ratio) === width ? ratio : (width + 0.25) / dim;
}

/** Keyword arguments for timm's VisionTransformer(...) that rebuild this model. */
export function timmModelArgs(config: ViTConfig): Record<string, unknown> {
  const args: Record<string, unknown> = {
    img_size: config.imageSize,
    patch_size: config.patchSize,
    in_chans: config.channels,
    embed_dim: config.dim,
    depth: config.depth,
    num_heads: config.heads,
    mlp_ratio: timmMlpRatio(config.dim, mlpHidden(config)),
    qkv_bias: config.qkvBias,
    class_token: config.pooling === 'cls',
    global_pool: config.pooling === 'cls' ? 'token' : 'avg',
    fc_norm: config.pooling === 'avg',
    num_classes: config.numClasses,
    drop_path_rate: config.dropPath,
  };
  // timm's default act_layer is exact GELU; naming it as a string needs timm ≥ 1.0, so it
  // is written only when it differs.
  if (config.gelu === 'tanh') args.act_layer = 'gelu_tanh';
  // Not a timm argument: timm cannot build another eps, so it is recorded for the user
  // (docs/timm-export.md pops it and passes norm_layer) and for our own re-import.
  if (config.layerNormEps !== TIMM_LAYER_NORM_EPS) args.layer_norm_eps = config.layerNormEps;
  return args;
}

/**
 * A model whose attention is narrower than dim (heads pruned: heads × headDim < dim) in the
 * shape timm's VisionTransformer builds (dim / headDim heads): the kept heads first, the
 * pruned ones as zero rows of qkv and zero columns of proj. A zero head adds nothing
 * (v = 0), and every gradient reaching it is zero, so it stays off when training
 * continues. Exact, at the full width's size. Storage (timm) layout in and out.
 */
export function padPrunedHeads(config: ViTConfig, storageTensors: TensorMap): { config: ViTConfig; tensors: TensorMap; padded: number } {
  const a = attnDim(config);
  if (a === config.dim) return { config, tensors: storageTensors, padded: 0 };
  const width = headDim(config);
  if (a > config.dim || config.dim % width !== 0) {
    throw new Error(
      `timm's VisionTransformer needs heads × head width = embed dim; this model has ${config.heads} heads of ${width} (${a}) with dim ${config.dim}, `
        + 'which no zero-padding can make whole: export it as ONNX or TensorFlow.js instead',
    );
  }
  const d = config.dim;
  const out: TensorMap = new Map();
  for (const [name, t] of storageTensors) {
    if (name.endsWith('attn.qkv.weight') || name.endsWith('attn.qkv.bias')) {
      // [3A, D] (or [3A]) → [3D, D]: q, k, v blocks each padded from A rows to D.
      const rowSize = t.shape.length === 2 ? t.shape[1]! : 1;
      const data = new Float32Array(3 * d * rowSize);
      for (let part = 0; part < 3; part++) data.set(t.data.subarray(part * a * rowSize, (part + 1) * a * rowSize), part * d * rowSize);
      out.set(name, { shape: t.shape.length === 2 ? [3 * d, rowSize] : [3 * d], data });
    } else if (name.endsWith('attn.proj.weight')) {
      // [D, A] → [D, D]: zero input columns for the pruned heads.
      const data = new Float32Array(d * d);
      for (let row = 0; row < d; row++) data.set(t.data.subarray(row * a, (row + 1) * a), row * d);
      out.set(name, { shape: [d, d], data });
    } else {
      out.set(name, t);
    }
  }
  const full: ViTConfig = { ...config, heads: d / width };
  delete full.headDim;
  return { config: full, tensors: out, padded: full.heads - config.heads };
}

export function toTimmExport(
  prunedConfig: ViTConfig,
  storageTensors: TensorMap,
  meta: { preprocess: Preprocess; classNames: string[]; provenance: Provenance },
): TimmExport {
  const warnings: string[] = [];
  const { config, tensors, padded } = padPrunedHeads(prunedConfig, storageTensors);
  if (padded > 0) {
    warnings.push(
      `attention was pruned to ${prunedConfig.heads} of ${config.heads} heads; timm's VisionTransformer needs all ${config.heads}, so the ${padded} pruned `
        + 'head(s) are written as zeros: the same outputs, and they stay zero when training continues, but the attention tensors are full size (docs/timm-export.md)',
    );
  }
  if (config.layerNormEps !== TIMM_LAYER_NORM_EPS) {
    const eps = config.layerNormEps.toExponential(); // "1e-5", also valid Python
    warnings.push(
      `LayerNorm eps is ${eps} but timm's VisionTransformer always uses 1e-6: config.json records model_args.layer_norm_eps; `
        + `build the model with norm_layer=partial(nn.LayerNorm, eps=${eps}) (docs/timm-export.md), otherwise outputs differ slightly`,
    );
  }
  if (config.gelu === 'tanh') {
    warnings.push('GELU is the tanh approximation: model_args.act_layer "gelu_tanh" needs timm ≥ 1.0 (older timm: pass act_layer=partial(nn.GELU, approximate="tanh"))');
  }
  const modelArgs = timmModelArgs(config);
  const configJson: Record<string, unknown> = {
    architecture: 'vit_custom',
    num_classes: config.numClasses,
    num_features: config.dim,
    global_pool: modelArgs.global_pool,
    model_args: modelArgs,
    pretrained_cfg: {
      tag: 'learngene',
      input_size: [config.channels, config.imageSize, config.imageSize],
      fixed_input_size: true,
      interpolation: 'bilinear',
      crop_pct: 1.0,
      crop_mode: 'center',
      mean: meta.preprocess.mean,
      std: meta.preprocess.std,
      num_classes: config.numClasses,
      first_conv: 'patch_embed.proj',
      classifier: 'head',
      label_names: meta.classNames,
    },
    label_names: meta.classNames,
    // Ours, ignored by timm: what the export came from.
    learngene: { config, ...(padded > 0 ? { prunedConfig } : {}), preprocess: meta.preprocess, provenance: meta.provenance },
  };
  return {
    tensors,
    metadata: { format: 'pt', config: JSON.stringify(config), provenance: JSON.stringify(meta.provenance) },
    configJson,
    warnings,
  };
}
