// Registers the gradient of every tfjs op. tfjs-core alone ships none; the union
// package registers them all against the same tfjs-core instance, in Node (its CJS
// bundle) and in a page (its ESM entry) alike.
import './tf-env.js';
import '@tensorflow/tfjs';
