// Foreign ViT checkpoints → our model. Three namings are read: timm (our storage names
// already), Hugging Face `ViTForImageClassification` and torchvision `VisionTransformer`.
// Like timm's `checkpoint_filter_fn`, each naming has one pure renaming function to timm
// names and layouts; the config is then read from tensor shapes (patch, depth, width,
// classes, tokens), with heads / eps / GELU flavour from a config.json when one is given,
// because shapes cannot tell them.

import { type GeluKind, type ViTConfig, mlpHidden, numPatches, validateViTConfig } from '../../shared/config.js';
import type { Preprocess } from '../data/types.js';
import { IMAGENET_NORMALIZATION } from '../data/convert.js';
import { FormatError } from './errors.js';
import type { NamedTensor, TensorMap } from './safetensors.js';

export type CheckpointNaming = 'timm' | 'hf' | 'torchvision';

export interface ImportOptions {
  /** Attention heads; wins over config.json. */
  heads?: number;
  /**
   * The config.json found beside the checkpoint: HF `ViTConfig`, timm
   * (`{architecture, model_args}`), or our camelCase ViTConfig.
   */
  configJson?: unknown;
  /** Names the checkpoint in messages. */
  source: string;
}

export interface ImportedCheckpoint {
  config: ViTConfig;
  /** timm names and layouts (storage layout), exactly the tensors the config needs. */
  tensors: TensorMap;
  naming: CheckpointNaming;
  /** What was assumed or dropped, one sentence each (e.g. the dim/64 heads guess). */
  notes: string[];
}


const HF_PREFIX = 'vit.';

// ---------------------------------------------------------------------------------------
// Detection

function hasBlockNames(names: string[], pattern: RegExp): boolean {
  return names.some((n) => pattern.test(n));
}

/** Which naming a checkpoint uses, from its tensor names alone; null when none fits. */
export function detectNaming(tensors: TensorMap): CheckpointNaming | null {
  const names = [...tensors.keys()];
  if (tensors.has('patch_embed.proj.weight') && hasBlockNames(names, /^blocks\.\d+\./)) return 'timm';
  // ViTForImageClassification prefixes the backbone with "vit."; a bare ViTModel does not.
  if (tensors.has(`${HF_PREFIX}embeddings.patch_embeddings.projection.weight`) || tensors.has('embeddings.patch_embeddings.projection.weight')) {
    return 'hf';
  }
  if (tensors.has('conv_proj.weight') && hasBlockNames(names, /^encoder\.layers\.encoder_layer_\d+\./)) return 'torchvision';
  return null;
}

function unknownNamingError(tensors: TensorMap, source: string): FormatError {
  const names = [...tensors.keys()];
  const shown = names.slice(0, 8).join(', ');
  return new FormatError(
    source,
    'is not a Vision Transformer checkpoint in a naming we read: expected timm (patch_embed.proj.weight, blocks.N.attn.qkv.weight …), '
      + 'Hugging Face (vit.embeddings.patch_embeddings.projection.weight, vit.encoder.layer.N.attention.attention.query.weight …) '
      + `or torchvision (conv_proj.weight, encoder.layers.encoder_layer_N.self_attention.in_proj_weight …) names; found: ${shown || '(no tensors)'}`
      + (names.length > 8 ? ` … (${names.length} tensors)` : ''),
  );
}

// ---------------------------------------------------------------------------------------
// Renaming to timm (pure; unknown names pass through so the final check can list them)

/** Concatenates rows of [D, …] tensors (q, k, v) into one [3D, …] tensor. */
function concatRows(parts: NamedTensor[]): NamedTensor {
  const rows = parts.reduce((sum, p) => sum + p.shape[0]!, 0);
  const data = new Float32Array(parts.reduce((sum, p) => sum + p.data.length, 0));
  let offset = 0;
  for (const p of parts) {
    data.set(p.data, offset);
    offset += p.data.length;
  }
  return { shape: [rows, ...parts[0]!.shape.slice(1)], data };
}

/** Hugging Face ViT names → timm names; query/key/value are fused into qkv. */
export function renameHf(tensors: TensorMap, notes: string[] = []): TensorMap {
  const out: TensorMap = new Map();
  const qkv = new Map<string, Partial<Record<'query' | 'key' | 'value', NamedTensor>>>();
  const rules: [RegExp, string][] = [
    [/^embeddings\.patch_embeddings\.projection\.(weight|bias)$/, 'patch_embed.proj.$1'],
    [/^embeddings\.cls_token$/, 'cls_token'],
    [/^embeddings\.position_embeddings$/, 'pos_embed'],
    [/^encoder\.layer\.(\d+)\.layernorm_before\.(weight|bias)$/, 'blocks.$1.norm1.$2'],
    [/^encoder\.layer\.(\d+)\.attention\.output\.dense\.(weight|bias)$/, 'blocks.$1.attn.proj.$2'],
    [/^encoder\.layer\.(\d+)\.layernorm_after\.(weight|bias)$/, 'blocks.$1.norm2.$2'],
    [/^encoder\.layer\.(\d+)\.intermediate\.dense\.(weight|bias)$/, 'blocks.$1.mlp.fc1.$2'],
    [/^encoder\.layer\.(\d+)\.output\.dense\.(weight|bias)$/, 'blocks.$1.mlp.fc2.$2'],
    [/^layernorm\.(weight|bias)$/, 'norm.$1'],
  ];
  let droppedPooler = false;
  for (const [fullName, tensor] of tensors) {
    if (/^classifier\.(weight|bias)$/.test(fullName)) {
      out.set(fullName.replace('classifier.', 'head.'), tensor);
      continue;
    }
    const name = fullName.startsWith(HF_PREFIX) ? fullName.slice(HF_PREFIX.length) : fullName;
    if (/^pooler\.dense\.(weight|bias)$/.test(name)) {
      // ViTModel's pooler (tanh dense on the class token) is not used by ViTForImageClassification.
      droppedPooler = true;
      continue;
    }
    const attn = /^encoder\.layer\.(\d+)\.attention\.attention\.(query|key|value)\.(weight|bias)$/.exec(name);
    if (attn) {
      const key = `blocks.${attn[1]}.attn.qkv.${attn[3]}`;
      const entry = qkv.get(key) ?? {};
      entry[attn[2] as 'query' | 'key' | 'value'] = tensor;
      qkv.set(key, entry);
      continue;
    }
    const rule = rules.find(([pattern]) => pattern.test(name));
    out.set(rule ? name.replace(rule[0], rule[1]) : fullName, tensor);
  }
  for (const [key, parts] of qkv) {
    const missing = (['query', 'key', 'value'] as const).filter((p) => !parts[p]);
    if (missing.length > 0) {
      // Leave the incomplete set under a readable name so the final check reports it.
      for (const p of ['query', 'key', 'value'] as const) if (parts[p]) out.set(`${key} (${p} only; ${missing.join('/')} missing)`, parts[p]!);
      continue;
    }
    out.set(key, concatRows([parts.query!, parts.key!, parts.value!]));
  }
  if (droppedPooler) notes.push('dropped vit.pooler.dense.* (the ViTModel pooler; ViTForImageClassification does not use it)');
  return out;
}

/** torchvision `VisionTransformer` names → timm names (in_proj is already a fused qkv). */
export function renameTorchvision(tensors: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  const layer = '^encoder\\.layers\\.encoder_layer_(\\d+)\\.';
  const rules: [RegExp, string][] = [
    [/^conv_proj\.(weight|bias)$/, 'patch_embed.proj.$1'],
    [/^class_token$/, 'cls_token'],
    [/^encoder\.pos_embedding$/, 'pos_embed'],
    [new RegExp(layer + 'ln_1\\.(weight|bias)$'), 'blocks.$1.norm1.$2'],
    [new RegExp(layer + 'self_attention\\.in_proj_weight$'), 'blocks.$1.attn.qkv.weight'],
    [new RegExp(layer + 'self_attention\\.in_proj_bias$'), 'blocks.$1.attn.qkv.bias'],
    [new RegExp(layer + 'self_attention\\.out_proj\\.(weight|bias)$'), 'blocks.$1.attn.proj.$2'],
    [new RegExp(layer + 'ln_2\\.(weight|bias)$'), 'blocks.$1.norm2.$2'],
    // torchvision ≥ 0.13 names the MLP layers by Sequential index; older releases linear_1/2.
    [new RegExp(layer + 'mlp\\.(?:0|linear_1)\\.(weight|bias)$'), 'blocks.$1.mlp.fc1.$2'],
    [new RegExp(layer + 'mlp\\.(?:3|linear_2)\\.(weight|bias)$'), 'blocks.$1.mlp.fc2.$2'],
    [/^encoder\.ln\.(weight|bias)$/, 'norm.$1'],
    [/^heads\.head\.(weight|bias)$/, 'head.$1'],
  ];
  for (const [name, tensor] of tensors) {
    const rule = rules.find(([pattern]) => pattern.test(name));
    out.set(rule ? name.replace(rule[0], rule[1]) : name, tensor);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Unsupported timm features: named, so the user learns what the checkpoint is.

const UNSUPPORTED_FEATURES: [RegExp, string][] = [
  [/^dist_token$/, 'DeiT distillation token'],
  [/^head_dist\./, 'DeiT distillation head'],
  [/^reg_token$/, 'register tokens (reg_tokens)'],
  [/\.ls[12]\.(gamma|weight)$/, 'LayerScale (init_values)'],
  [/^pre_logits\./, 'pre-logits layer (representation_size)'],
  [/^heads\.pre_logits\./, 'pre-logits layer (representation_size)'],
  [/\.attn\.(q_norm|k_norm)\./, 'QK normalization (qk_norm)'],
  [/^norm_pre\./, 'pre-norm (pre_norm)'],
  [/^patch_embed\.norm\./, 'patch embedding norm'],
  [/\.attn\.norm\./, 'attention output norm (scale_attn_norm)'],
  [/\.mlp\.norm\./, 'MLP norm (scale_mlp_norm)'],
  [/^attn_pool\./, 'attention pooling (global_pool="map")'],
];

/** "blocks.3.ls1.gamma" → "blocks.N.ls1.gamma", to list a per-block feature once. */
function genericName(name: string): string {
  return name.replace(/^blocks\.\d+\./, 'blocks.N.');
}

function rejectUnsupported(tensors: TensorMap, naming: CheckpointNaming, source: string): void {
  const byFeature = new Map<string, Set<string>>();
  for (const name of tensors.keys()) {
    const hit = UNSUPPORTED_FEATURES.find(([pattern]) => pattern.test(name));
    if (!hit) continue;
    const set = byFeature.get(hit[1]) ?? new Set<string>();
    set.add(genericName(name));
    byFeature.set(hit[1], set);
  }
  if (byFeature.size === 0) return;
  const listed = [...byFeature].map(([feature, names]) => `${[...names].join(', ')} (${feature})`).join('; ');
  throw new FormatError(source, `is a ${namingLabel(naming)} ViT with parts Learngene's ViT does not support: ${listed}. Only plain ViTs (class token or average pooling, no extra tokens or layer scales) can be imported.`);
}

function namingLabel(naming: CheckpointNaming): string {
  return naming === 'hf' ? 'Hugging Face' : naming;
}

// ---------------------------------------------------------------------------------------
// config.json readers

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : null;
}

function numberField(obj: Json | null, key: string): number | undefined {
  const v = obj?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Our own camelCase ViTConfig (learngene exports embed it). */
function isOwnConfig(json: Json | null): json is Json & ViTConfig {
  return json !== null && typeof json.imageSize === 'number' && typeof json.dim === 'number' && typeof json.heads === 'number';
}

/** What a config.json says about the things shapes cannot tell. */
interface ConfigHints {
  heads?: { value: number; from: string };
  eps?: number;
  gelu?: GeluKind;
  dropPath?: number;
  /** Structural values the config claims, compared with the shapes for notes. */
  claims: Partial<Record<'imageSize' | 'patchSize' | 'dim' | 'depth' | 'numClasses' | 'channels', number>>;
}

/** Known timm / DeiT model sizes: name word → [embed dim, heads]. */
const TIMM_SIZES: Record<string, [number, number]> = {
  tiny: [192, 3],
  small: [384, 6],
  medium: [512, 8],
  base: [768, 12],
  large: [1024, 16],
  huge: [1280, 16],
  giant: [1408, 16],
};

/** Heads of a timm architecture name like "vit_small_patch16_224.augreg_in21k" or "deit_tiny_patch16_224". */
export function headsFromArchitecture(architecture: string, dim: number): number | undefined {
  const match = /^(?:vit|deit|deit3)_(tiny|small|medium|base|large|huge|giant)_/.exec(architecture.toLowerCase());
  if (!match) return undefined;
  const [knownDim, heads] = TIMM_SIZES[match[1]!]!;
  // A name whose width does not match the tensors is not evidence for the head count.
  return knownDim === dim ? heads : undefined;
}

function geluFromHf(act: unknown, source: string): GeluKind | undefined {
  if (act === undefined) return undefined;
  if (act === 'gelu' || act === 'gelu_python') return 'exact';
  if (act === 'gelu_new' || act === 'gelu_pytorch_tanh' || act === 'gelu_fast') return 'tanh';
  throw new FormatError(source, `config.json hidden_act ${JSON.stringify(act)} is not supported (only gelu, or the tanh approximations gelu_new / gelu_pytorch_tanh)`);
}

function geluFromTimm(act: unknown, source: string): GeluKind | undefined {
  if (act === undefined || act === null) return undefined;
  if (act === 'gelu') return 'exact';
  if (act === 'gelu_tanh') return 'tanh';
  throw new FormatError(source, `config.json model_args.act_layer ${JSON.stringify(act)} is not supported (only "gelu" or "gelu_tanh")`);
}

function squareSize(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (Array.isArray(value) && value.length === 2 && value[0] === value[1] && typeof value[0] === 'number') return value[0];
  // timm pretrained_cfg input_size is [C, H, W].
  if (Array.isArray(value) && value.length === 3 && value[1] === value[2] && typeof value[1] === 'number') return value[1];
  return undefined;
}

function readHints(configJson: unknown, dim: number, source: string): ConfigHints {
  const json = asObject(configJson);
  const hints: ConfigHints = { claims: {} };
  if (!json) return hints;
  if (isOwnConfig(json)) {
    hints.heads = { value: json.heads, from: 'the embedded learngene config' };
    hints.eps = json.layerNormEps;
    hints.gelu = json.gelu;
    hints.dropPath = json.dropPath;
    hints.claims = { imageSize: json.imageSize, patchSize: json.patchSize, dim: json.dim, depth: json.depth, numClasses: json.numClasses, channels: json.channels };
    return hints;
  }
  const args = asObject(json.model_args);
  if (args || typeof json.architecture === 'string') {
    // timm hub / our timm export: {architecture, num_classes, model_args: {...}, pretrained_cfg}
    const heads = numberField(args, 'num_heads');
    if (heads !== undefined) hints.heads = { value: heads, from: 'config.json model_args.num_heads' };
    else if (typeof json.architecture === 'string') {
      const fromName = headsFromArchitecture(json.architecture, dim);
      if (fromName !== undefined) hints.heads = { value: fromName, from: `the timm architecture name ${json.architecture}` };
    }
    hints.eps = numberField(args, 'layer_norm_eps');
    hints.gelu = geluFromTimm(args?.act_layer, source);
    hints.claims = {
      imageSize: squareSize(args?.img_size),
      patchSize: squareSize(args?.patch_size),
      dim: numberField(args, 'embed_dim'),
      depth: numberField(args, 'depth'),
      channels: numberField(args, 'in_chans'),
      numClasses: numberField(args, 'num_classes') ?? numberField(json, 'num_classes'),
    };
    return hints;
  }
  if ('num_attention_heads' in json || 'hidden_size' in json || json.model_type === 'vit') {
    const heads = numberField(json, 'num_attention_heads');
    if (heads !== undefined) hints.heads = { value: heads, from: 'config.json num_attention_heads' };
    hints.eps = numberField(json, 'layer_norm_eps');
    hints.gelu = geluFromHf(json.hidden_act, source);
    const id2label = asObject(json.id2label);
    hints.claims = {
      imageSize: squareSize(json.image_size),
      patchSize: squareSize(json.patch_size),
      dim: numberField(json, 'hidden_size'),
      depth: numberField(json, 'num_hidden_layers'),
      channels: numberField(json, 'num_channels'),
      numClasses: id2label ? Object.keys(id2label).length : undefined,
    };
    return hints;
  }
  // A config.json we do not recognize is ignored rather than guessed from.
  return hints;
}

// ---------------------------------------------------------------------------------------
// Config from shapes

function need(tensors: TensorMap, name: string, source: string, why: string): NamedTensor {
  const t = tensors.get(name);
  if (!t) throw new FormatError(source, `has no "${name}" (${why})`);
  return t;
}

function blockIndices(tensors: TensorMap): number[] {
  const indices = new Set<number>();
  for (const name of tensors.keys()) {
    const m = /^blocks\.(\d+)\./.exec(name);
    if (m) indices.add(Number(m[1]));
  }
  return [...indices].sort((a, b) => a - b);
}

/** Largest head count ≤ dim/64 (at least 1) that divides dim. */
function guessHeads(dim: number): number {
  let heads = Math.max(1, Math.round(dim / 64));
  while (heads > 1 && dim % heads !== 0) heads--;
  return heads;
}

/** timm storage shapes of a plain ViT with this config. */
export function timmParamShapes(config: ViTConfig): Map<string, number[]> {
  const { dim: d, channels: c, patchSize: p, numClasses: k } = config;
  const m = mlpHidden(config);
  const shapes = new Map<string, number[]>([
    ['patch_embed.proj.weight', [d, c, p, p]],
    ['patch_embed.proj.bias', [d]],
  ]);
  const tokens = numPatches(config) + (config.pooling === 'cls' ? 1 : 0);
  if (config.pooling === 'cls') shapes.set('cls_token', [1, 1, d]);
  shapes.set('pos_embed', [1, tokens, d]);
  for (let i = 0; i < config.depth; i++) {
    const b = `blocks.${i}.`;
    shapes.set(b + 'norm1.weight', [d]);
    shapes.set(b + 'norm1.bias', [d]);
    shapes.set(b + 'attn.qkv.weight', [3 * d, d]);
    if (config.qkvBias) shapes.set(b + 'attn.qkv.bias', [3 * d]);
    shapes.set(b + 'attn.proj.weight', [d, d]);
    shapes.set(b + 'attn.proj.bias', [d]);
    shapes.set(b + 'norm2.weight', [d]);
    shapes.set(b + 'norm2.bias', [d]);
    shapes.set(b + 'mlp.fc1.weight', [m, d]);
    shapes.set(b + 'mlp.fc1.bias', [m]);
    shapes.set(b + 'mlp.fc2.weight', [d, m]);
    shapes.set(b + 'mlp.fc2.bias', [d]);
  }
  const norm = config.pooling === 'cls' ? 'norm' : 'fc_norm';
  shapes.set(`${norm}.weight`, [d]);
  shapes.set(`${norm}.bias`, [d]);
  shapes.set('head.weight', [k, d]);
  shapes.set('head.bias', [k]);
  return shapes;
}

/** Accepts [1, T, D] or [T, D] position embeddings and [1, 1, D] / [1, D] class tokens; returns them as timm stores them. */
function canonicalEmbeddings(tensors: TensorMap): TensorMap {
  const out: TensorMap = new Map(tensors);
  const pos = tensors.get('pos_embed');
  if (pos && pos.shape.length === 2) out.set('pos_embed', { shape: [1, ...pos.shape], data: pos.data });
  const cls = tensors.get('cls_token');
  if (cls && cls.shape.length !== 3) out.set('cls_token', { shape: [1, 1, cls.shape[cls.shape.length - 1]!], data: cls.data });
  return out;
}

/** Reads a ViTConfig from timm-named tensors (+ hints) and checks every tensor against it. */
function configFromTimmTensors(tensors: TensorMap, naming: CheckpointNaming, options: ImportOptions, notes: string[]): ViTConfig {
  const { source } = options;
  const patch = need(tensors, 'patch_embed.proj.weight', source, 'the patch embedding');
  if (patch.shape.length !== 4 || patch.shape[2] !== patch.shape[3]) {
    throw new FormatError(source, `patch embedding weight has shape [${patch.shape}]; expected [dim, channels, P, P] (square patches)`);
  }
  const [dim, channels, patchSize] = patch.shape as [number, number, number, number];
  const hasCls = tensors.has('cls_token');
  const hasFcNorm = tensors.has('fc_norm.weight');
  const hasNorm = tensors.has('norm.weight');
  let pooling: ViTConfig['pooling'];
  if (hasCls && hasFcNorm) {
    throw new FormatError(source, 'has a class token and fc_norm (timm global_pool="avg" with class_token=True); Learngene\'s ViT averages patch tokens only when there is no class token');
  } else if (hasCls) {
    pooling = 'cls';
  } else if (hasFcNorm) {
    pooling = 'avg';
  } else if (hasNorm) {
    throw new FormatError(source, 'has no class token and a final norm before pooling (timm global_pool="avg" with fc_norm=False); only fc_norm after average pooling is supported');
  } else {
    throw new FormatError(source, 'has neither a class token with "norm" nor "fc_norm": cannot tell how features are pooled');
  }
  const pos = need(tensors, 'pos_embed', source, 'the position embedding');
  const tokens = pos.shape[pos.shape.length - 2]!;
  const patches = tokens - (hasCls ? 1 : 0);
  const grid = Math.round(Math.sqrt(patches));
  if (grid * grid !== patches) {
    const hint = hasCls && Number.isInteger(Math.sqrt(tokens)) ? ' (timm no_embed_class=True, where the class token has no position embedding, is not supported)' : '';
    throw new FormatError(source, `pos_embed holds ${tokens} tokens; ${patches} patches do not form a square grid${hint}`);
  }
  const blocks = blockIndices(tensors);
  if (blocks.length === 0) throw new FormatError(source, 'has no transformer blocks');
  const depth = blocks.length;
  if (blocks[depth - 1] !== depth - 1) throw new FormatError(source, `has blocks ${blocks.join(', ')}; expected 0..${depth - 1} without gaps`);
  const fc1 = need(tensors, 'blocks.0.mlp.fc1.weight', source, 'the first MLP layer');
  const head = tensors.get('head.weight');
  if (!head) {
    throw new FormatError(source, 'has no classifier head (head.weight / classifier.weight / heads.head.weight): a teacher must produce class logits');
  }

  const hints = readHints(options.configJson, dim, source);
  const shapeValues = { imageSize: grid * patchSize, patchSize, dim, depth, numClasses: head.shape[0]!, channels };
  for (const [key, claimed] of Object.entries(hints.claims)) {
    const actual = shapeValues[key as keyof typeof shapeValues];
    if (claimed !== undefined && claimed !== actual) notes.push(`config.json says ${key} ${claimed} but the tensors give ${actual}; using ${actual}`);
  }

  let heads: number;
  if (options.heads !== undefined) {
    heads = options.heads;
    if (hints.heads && hints.heads.value !== heads) notes.push(`heads ${heads} from --heads overrides ${hints.heads.value} from ${hints.heads.from}`);
  } else if (hints.heads) {
    heads = hints.heads.value;
    notes.push(`heads ${heads} from ${hints.heads.from}`);
  } else {
    heads = guessHeads(dim);
    notes.push(`heads ${heads} is a GUESS (dim ${dim} / 64): no --heads and no config.json giving it; a wrong head count gives wrong outputs, pass --heads if you know it`);
  }

  let layerNormEps: number;
  if (hints.eps !== undefined) layerNormEps = hints.eps;
  else if (naming === 'hf') {
    layerNormEps = 1e-12;
    notes.push('layer_norm_eps 1e-12 (the Hugging Face ViTConfig default; no config.json gave it)');
  } else layerNormEps = 1e-6;

  const config: ViTConfig = {
    imageSize: grid * patchSize,
    channels,
    patchSize,
    dim,
    depth,
    heads,
    mlpRatio: fc1.shape[0]! / dim,
    qkvBias: tensors.has('blocks.0.attn.qkv.bias'),
    pooling,
    layerNormEps,
    gelu: hints.gelu ?? 'exact',
    dropPath: hints.dropPath ?? 0,
    numClasses: head.shape[0]!,
  };
  const issues = validateViTConfig(config);
  if (issues.length > 0) {
    throw new FormatError(source, `gives an unusable config: ${issues.map((i) => `${i.field} ${i.message}`).join('; ')}`);
  }
  return config;
}

function checkAgainstConfig(tensors: TensorMap, config: ViTConfig, naming: CheckpointNaming, source: string): TensorMap {
  const expected = timmParamShapes(config);
  const problems: string[] = [];
  const missing = [...expected.keys()].filter((n) => !tensors.has(n));
  if (missing.length > 0) problems.push(`missing ${listNames(missing)}`);
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (t && t.shape.join(',') !== shape.join(',')) problems.push(`"${name}" has shape [${t.shape}] but [${shape}] was expected`);
  }
  const unexpected = [...tensors.keys()].filter((n) => !expected.has(n));
  if (unexpected.length > 0) problems.push(`unexpected ${listNames(unexpected)}`);
  if (problems.length > 0) {
    const renamed = naming === 'timm' ? '' : ` (after renaming ${namingLabel(naming)} names to timm names)`;
    throw new FormatError(source, `does not match a plain ViT${renamed}: ${problems.join('; ')}`);
  }
  const out: TensorMap = new Map();
  for (const name of expected.keys()) out.set(name, tensors.get(name)!);
  return out;
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 8).map((n) => `"${n}"`).join(', ');
  return names.length > 8 ? `${shown} and ${names.length - 8} more` : shown;
}

/**
 * A foreign checkpoint as our config + timm-named storage tensors. Throws FormatError
 * naming what was expected and found for anything that is not a plain ViT classifier.
 */
export function importCheckpoint(tensors: TensorMap, options: ImportOptions): ImportedCheckpoint {
  const naming = detectNaming(tensors);
  if (!naming) throw unknownNamingError(tensors, options.source);
  const notes: string[] = [];
  let renamed: TensorMap;
  if (naming === 'hf') renamed = renameHf(tensors, notes);
  else if (naming === 'torchvision') {
    renamed = renameTorchvision(tensors);
    notes.push('torchvision ViTs use LayerNorm eps 1e-6 and exact GELU');
  } else renamed = tensors;
  renamed = canonicalEmbeddings(renamed);
  rejectUnsupported(renamed, naming, options.source);
  const config = configFromTimmTensors(renamed, naming, options, notes);
  return { config, tensors: checkAgainstConfig(renamed, config, naming, options.source), naming, notes };
}

// ---------------------------------------------------------------------------------------
// Preprocessing and class names from the files beside a checkpoint

function numberList(value: unknown, length: number): number[] | undefined {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'number')) return undefined;
  const list = value as number[];
  if (list.length === length) return list;
  if (list.length === 1) return new Array(length).fill(list[0]);
  return undefined;
}

/** ImageNet statistics for RGB, 0.5 / 0.5 otherwise: what most ViT checkpoints were trained with when they do not say. */
export function defaultPreprocess(imageSize: number, channels: number): Preprocess {
  return channels === 3
    ? { imageSize, channels, mean: [...IMAGENET_NORMALIZATION.mean], std: [...IMAGENET_NORMALIZATION.std] }
    : { imageSize, channels, mean: new Array(channels).fill(0.5), std: new Array(channels).fill(0.5) };
}

/**
 * Normalization from config.json (timm `pretrained_cfg.mean/std` or top-level mean/std;
 * HF `image_mean/image_std`) or an HF preprocessor_config.json; defaults otherwise.
 */
export function preprocessFromConfig(
  config: ViTConfig,
  configJson: unknown,
  preprocessorJson?: unknown,
): { preprocess: Preprocess; from: string } {
  const candidates: [Json | null, string, string, string][] = [];
  const json = asObject(configJson);
  const pre = asObject(preprocessorJson);
  candidates.push([pre, 'image_mean', 'image_std', 'preprocessor_config.json']);
  candidates.push([asObject(json?.pretrained_cfg), 'mean', 'std', 'config.json pretrained_cfg']);
  candidates.push([json, 'mean', 'std', 'config.json']);
  candidates.push([json, 'image_mean', 'image_std', 'config.json']);
  const own = asObject(json?.preprocess);
  candidates.push([own, 'mean', 'std', 'config.json preprocess']);
  for (const [obj, meanKey, stdKey, from] of candidates) {
    const mean = numberList(obj?.[meanKey], config.channels);
    const std = numberList(obj?.[stdKey], config.channels);
    if (mean && std && std.every((s) => s > 0)) {
      return { preprocess: { imageSize: config.imageSize, channels: config.channels, mean, std }, from };
    }
  }
  const fallback = defaultPreprocess(config.imageSize, config.channels);
  return { preprocess: fallback, from: config.channels === 3 ? 'ImageNet defaults (no mean/std in the config)' : '0.5/0.5 defaults (no mean/std in the config)' };
}

/** Class names from HF id2label or timm label_names; "0".."K-1" otherwise. */
export function classNamesFromConfig(numClasses: number, configJson: unknown): string[] {
  const json = asObject(configJson);
  const id2label = asObject(json?.id2label);
  if (id2label) {
    const names = Array.from({ length: numClasses }, (_, i) => id2label[String(i)]);
    if (names.every((n) => typeof n === 'string')) return names as string[];
  }
  for (const list of [json?.label_names, asObject(json?.pretrained_cfg)?.label_names, json?.classNames]) {
    if (Array.isArray(list) && list.length === numClasses && list.every((n) => typeof n === 'string')) return [...(list as string[])];
  }
  return Array.from({ length: numClasses }, (_, i) => String(i));
}
