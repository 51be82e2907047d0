/**
 * A tiny fs-backed tfjs IOHandler: model.json + one weights.bin per model folder.
 * We ship without tfjs-node, so `file://` URLs are unavailable; this is all loading needs.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import type { io } from '@tensorflow/tfjs';

const MODEL_FILE = 'model.json';
const WEIGHTS_FILE = 'weights.bin';

/**
 * Reads a model.json at any path plus the weight files its weightsManifest names (relative
 * to the json). Third-party weights (e.g. models/blazeface/) keep their published file names
 * this way, so their checksums still match the source package.
 */
function readModelArtifacts(modelJsonPath: string): io.ModelArtifacts {
  const dir = dirname(modelJsonPath);
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8'));
  const weightSpecs: io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest as io.WeightsManifestConfig) {
    weightSpecs.push(...group.weights);
    for (const path of group.paths) buffers.push(readFileSync(join(dir, path)));
  }
  const all = Buffer.concat(buffers);
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    weightSpecs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    userDefinedMetadata: json.userDefinedMetadata,
  };
}

/** Load-only handler for a model.json with arbitrary name and weight file names. */
function modelJsonHandler(modelJsonPath: string): io.IOHandler {
  return { load: async () => readModelArtifacts(modelJsonPath) };
}

function fileSystemHandler(dir: string): io.IOHandler {
  return {
    async load(): Promise<io.ModelArtifacts> {
      return readModelArtifacts(join(dir, MODEL_FILE));
    },
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      mkdirSync(dir, { recursive: true });
      const data = artifacts.weightData as ArrayBuffer;
      writeFileSync(join(dir, WEIGHTS_FILE), Buffer.from(data));
      writeFileSync(join(dir, MODEL_FILE), JSON.stringify({
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs }],
        userDefinedMetadata: artifacts.userDefinedMetadata,
      }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: data.byteLength } };
    },
  };
}

export { fileSystemHandler, modelJsonHandler, MODEL_FILE };
