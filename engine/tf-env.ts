// tfjs flags set before any backend loads: PROD silences tfjs's console banners
// ("looks like you are running TensorFlow.js in Node.js") that would mix into our output.
import * as tf from '@tensorflow/tfjs-core';

tf.env().set('PROD', true);
