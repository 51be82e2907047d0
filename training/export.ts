/**
 * Writes a trained model for serving: model.json + weights.bin with float16 weights (half the
 * bytes, accuracy unchanged to 3 decimals) and manifest.json (input spec, provenance, and the
 * fingerprint of the preprocessing the model was trained with: training/preprocessFingerprint.ts;
 * training only reads features made with this checkout's, so it is the training pixels' too).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { io } from '@tensorflow/tfjs';
import { fileSystemHandler } from '../lib/modelIo.js';
import { preprocessFingerprint } from './preprocessFingerprint.js';
import { recoverFolder, swapInFolder } from './atomicWrites.js';

function float32ToFloat16Bits(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = ((bits >>> 23) & 0xff) - 127 + 15;
  let mant = bits & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign; // too small: signed zero
    mant |= 0x800000;
    const shift = 14 - exp;
    return sign | ((mant + (1 << (shift - 1))) >>> shift);
  }
  if (exp >= 31) return sign | 0x7c00; // overflow: infinity
  const rounded = (exp << 10) | (mant >>> 13);
  return sign | (rounded + ((mant >>> 12) & 1)); // round half up on the dropped bits
}

function toFloat16(artifacts: io.ModelArtifacts): io.ModelArtifacts {
  const f32 = new Float32Array(artifacts.weightData as ArrayBuffer);
  const f16 = new Uint16Array(f32.length);
  for (let i = 0; i < f32.length; i++) f16[i] = float32ToFloat16Bits(f32[i]);
  const weightSpecs = artifacts.weightSpecs!.map((s) => {
    if (s.dtype !== 'float32') throw new Error(`cannot quantise ${s.name} of dtype ${s.dtype}`);
    return { ...s, quantization: { dtype: 'float16' as const } };
  });
  return { ...artifacts, weightSpecs, weightData: f16.buffer };
}

const EXPORT_FILES = ['manifest.json', 'model.json', 'weights.bin'];

/**
 * Why `dir` may not receive an export, if it may not. The swap replaces the whole folder, so never
 * one that holds anything but an earlier export (`--out=models` would take the card and
 * blazeface/ with it). Hidden files (.DS_Store) and a killed calibrate's `manifest.json.tmp-<pid>`
 * do not count. train.ts asks before its first epoch, not only at the end of a long run.
 */
function exportFolderProblem(dir: string): string | undefined {
  const ignorable = (f: string) => EXPORT_FILES.includes(f) || f.startsWith('.') || /\.tmp-\d+$/.test(f);
  const others = existsSync(dir) ? readdirSync(dir).filter((f) => !ignorable(f)) : [];
  return others.length ? `refusing to export into ${dir}: it holds ${others.slice(0, 3).join(', ')}, not only an earlier export` : undefined;
}

/**
 * Writes the model's files into `dir`, replacing what was there as one folder swap: a kill
 * mid-export (the default --out is models/<task>) leaves the old model or the new one, never a
 * new model.json beside old weights.
 */
async function saveModelForServing(model: tf.LayersModel, dir: string, manifest: Record<string, unknown>): Promise<void> {
  let captured: io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    captured = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  // A resumed run passes the fingerprint its checkpoint was trained with (checked equal to this checkout's on resume).
  const fingerprint = manifest.preprocessFingerprint ?? await preprocessFingerprint();
  mkdirSync(dirname(dir), { recursive: true });
  recoverFolder(dir);
  const problem = exportFolderProblem(dir);
  if (problem) throw new Error(problem);
  await swapInFolder(dir, [], async (tmp) => {
    await fileSystemHandler(tmp).save!(toFloat16(captured!));
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify({
      ...manifest, preprocessFingerprint: fingerprint, parameters: model.countParams(), weightsDtype: 'float16', savedAt: new Date().toISOString(),
    }, null, 2));
  });
}

export { saveModelForServing, exportFolderProblem, float32ToFloat16Bits };
