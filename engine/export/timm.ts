// timm export: the model's tensors under timm's names and layouts (what
// `timm.models.vision_transformer.VisionTransformer.load_state_dict(strict=True)` takes)
// plus a timm hub-style config.json, so training can continue in PyTorch. Our model
// files already store timm names; this only swaps our metadata for a minimal one and
// spells the config in timm's `model_args`. See docs/timm-export.md.

import type { ViTConfig } from '../../shared/config.js';
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

/** Keyword arguments for timm's VisionTransformer(...) that rebuild this model. */
export function timmModelArgs(config: ViTConfig): Record<string, unknown> {
  const args: Record<string, unknown> = {
    img_size: config.imageSize,
    patch_size: config.patchSize,
    in_chans: config.channels,
    embed_dim: config.dim,
    depth: config.depth,
    num_heads: config.heads,
    mlp_ratio: config.mlpRatio,
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

export function toTimmExport(
  config: ViTConfig,
  storageTensors: TensorMap,
  meta: { preprocess: Preprocess; classNames: string[]; provenance: Provenance },
): TimmExport {
  const warnings: string[] = [];
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
    learngene: { config, preprocess: meta.preprocess, provenance: meta.provenance },
  };
  return {
    tensors: storageTensors,
    metadata: { format: 'pt', config: JSON.stringify(config), provenance: JSON.stringify(meta.provenance) },
    configJson,
    warnings,
  };
}
