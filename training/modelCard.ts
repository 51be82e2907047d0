/** Renders models/README.md, the model card, from the figures evaluate.ts computed. */
import { existsSync, readFileSync } from 'node:fs';
import { sameSpec } from '../lib/preprocess.js';
import type { InputSpec } from '../lib/preprocess.js';
import { RACE_NAMES } from './data.js';
import { AGE_BANDS, raceAccuracyGap } from './metrics.js';
import { verifyTables } from './verifyReport.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- the card reads a plain JSON object */
type Figures = any;

const pct = (x: number | null | undefined, d = 1) => (x == null || Number.isNaN(x) ? 'n/a' : `${(100 * x).toFixed(d)}%`);
const yrs = (x: number | null | undefined, d = 2) => (x == null || Number.isNaN(x) ? 'n/a' : x.toFixed(d));
const minutes = (s: number | undefined) => (s == null ? 'n/a' : `${(s / 60).toFixed(0)} min`);

/** A model's training stages, first to last: a fine-tune's manifest names the export it started from. */
function trainingStages(manifest: Figures): Figures[] {
  const stages: Figures[] = [];
  for (let st = manifest; st; st = st.initialisedFrom) stages.unshift(st);
  return stages;
}

function trainingCell(manifest: Figures): string {
  const stages = trainingStages(manifest);
  const epochsOf = (st: Figures) => st.config?.epochs ?? st.history?.length;
  const teacherKey = (st: Figures) => st?.distilledFrom && JSON.stringify([st.distilledFrom.sha256 ?? st.distilledFrom.folder, st.config?.distill, st.config?.teacherFlip, st.config?.auxEmbedding]);
  const distilled = (st: Figures, k: number) => {
    const from = st.distilledFrom;
    if (!from) return '';
    // Each stage of a lineage may learn from the same teacher: describe it once.
    if (k > 0 && teacherKey(st) === teacherKey(stages[k - 1])) return ', distilled as the stage before';
    // A precomputed teacher (--teacherFile) has no folder: name how its table was made.
    if (from.file) return `, distilled from a training-time teacher, ${from.teacher} (val ${from.valMae != null ? `MAE ${yrs(from.valMae)} years` : pct(from.valAccuracy, 2)}; made by \`npx tsx training/faceEmbeddings.ts\` and \`${from.command}\`; targets: ${st.config?.distill} x ${from.valMae != null ? 'a label-shaped distribution about its age estimate' : 'its P(female)'} + ${1 - st.config?.distill} x the label${st.config?.auxEmbedding ? `; plus ${st.config.auxEmbedding} x the squared error of a head regressing the face's standardised descriptor, dropped at export` : ''})`;
    return `, distilled from \`${from.folder}\` (targets: ${st.config?.distill} x its ${st.config?.teacherFlip ? 'mean output on the face and its mirror image' : 'output'} + ${1 - st.config?.distill} x the label)`;
  };
  const lines = stages.map((st, k) => `${k ? `then ${st.config?.prune ? `pruned to widths ${st.config.widths} (each conv's largest-L1 filters) and ` : ''}fine-tuned ${epochsOf(st)} epochs (peak LR ${st.config?.lr})` : `${epochsOf(st)} epochs`}${distilled(st, k)}${st.config?.balanceAges ? `, faces of rare age bands weighted up (\`--balanceAges=${st.config.balanceAges}\`)` : ''}, best on val at epoch ${st.bestEpoch}, ${minutes(st.trainingSeconds)}${st.machine ? ` on ${st.machine}` : ''}`);
  return lines.join('; ');
}

/** What the wrapper serves: the net's output on the face, or its mean over the face and its mirror image. */
const servedOutputCell = (manifest: Figures) => (manifest.testTimeFlip
  ? 'mean of the outputs on the face and on its mirror image (test-time flip: a batch of 2 per face)'
  : 'output on the face');

const commandCell = (manifest: Figures) => trainingStages(manifest).map((st) => `\`${st.command}\``).join(', then ');

function groupTable(m: Figures): string {
  const names = ['all', 'female', 'male', ...RACE_NAMES, ...AGE_BANDS.map((b) => `age ${b.name}`)];
  const rows = names.map((g) => {
    const f = m.byGroup[g];
    return `| ${g} | ${f.n} | ${pct(f.gender.accuracy)} | ${yrs(f.gender.auc, 3)} | ${yrs(f.gender.ece, 3)} | ${yrs(f.age.mae)} | ${yrs(f.age.rmse)} | ${pct(f.age.within5)} | ${pct(f.age.coverage)} |`;
  });
  return ['| group | n | gender acc | AUC | ECE | age MAE | age RMSE | within 5 y | 80% range coverage |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|', ...rows].join('\n');
}

function bandTable(m: Figures): string {
  const groups = ['all', 'female', 'male', ...RACE_NAMES];
  const header = `| age band | ${groups.join(' | ')} |`;
  const rows = AGE_BANDS.map((b) => `| ${b.name} | ${groups.map((g) => {
    const cell = m.ageBandMae[g][b.name];
    return cell.n ? `${yrs(cell.mae, 1)} (n=${cell.n})` : 'n/a';
  }).join(' | ')} |`);
  return [header, `|---|${groups.map(() => '---:').join('|')}|`, ...rows].join('\n');
}

/**
 * Ours beside the peer, per race and age band: where the peer's lead overall comes from. Empty
 * when the peer run predates its per-band figures (bench/faceApiPeer.ts --part=accuracy).
 */
function peerTable(m: Figures): string {
  const p = m.peer;
  if (!p?.ageBand || !p?.race) return '';
  const raceRows = RACE_NAMES.map((r) => ({ name: r, ours: m.byGroup[r], peer: p.race[r] }));
  const bandRows = AGE_BANDS.map((b) => ({ name: `age ${b.name}`, band: b.name, ours: m.byGroup[`age ${b.name}`], peer: p.ageBand[b.name] }));
  const lines = [...raceRows, ...bandRows].map(({ name, ours, peer }) => `| ${name} | ${ours.n} | ${pct(ours.gender.accuracy)} | ${pct(peer.genderAccuracy)} | ${yrs(ours.age.mae)} | ${yrs(peer.ageMae)} |`);
  const leads = bandRows.map((r) => ({ name: r.band, points: 100 * (r.peer.genderAccuracy - r.ours.gender.accuracy) }))
    .sort((x, y) => y.points - x.points);
  const peerGap = raceAccuracyGap(raceRows.map((r) => ({ name: r.name, n: r.peer.n, accuracy: r.peer.genderAccuracy })));
  return `### Ours and the peer by group

The peer row above, split as our own figures are (same test faces; the peer may have seen them in training).
Its lead in gender accuracy is largest at ages ${leads[0].name} (${leads[0].points.toFixed(1)} points) and ${leads[1].name} (${leads[1].points.toFixed(1)})
and smallest at ${leads[leads.length - 1].name} (${leads[leads.length - 1].points.toFixed(1)}); its own gender gap
between race groups with 200+ test faces is ${yrs(peerGap.gapPoints, 1)} points.

| group | n | gender acc, ours | gender acc, peer | age MAE, ours | age MAE, peer |
|---|---:|---:|---:|---:|---:|
${lines.join('\n')}

`;
}

/**
 * The race gap among faces aged 20+: the groups differ in their share of children, on whom
 * gender is hardest. That explains the gap only when it narrows without the children, so the
 * card says so only then.
 */
function adultGap(m: Figures): string {
  const adults = m.genderRaceGapAges20Plus;
  if (!adults) return '';
  const groups = Object.entries(adults.byRace).map(([k, v]: [string, any]) => `${k} ${pct(v.accuracy)}, n=${v.n}`);
  const why = childrenExplainGap(m) ? ' (the race groups differ in their share of children, on whom gender is hardest)' : '';
  return `; among faces aged 20+ only${why}: ${yrs(adults.gapPoints, 1)} points (${groups.join('; ')})`;
}

function childrenExplainGap(m: Figures): boolean {
  return m.genderRaceGapAges20Plus && m.genderRaceGapAges20Plus.gapPoints < m.genderRaceGap.gapPoints;
}

/** The headline figures without the test chips that are copies of train or val chips. */
function withoutCopiesLine(m: Figures): string {
  const w = m.testWithoutCopies;
  if (!w) return '';
  return `\n- Without the ${w.copies} test chips that are byte copies of train or val chips (n=${w.n}): gender ${pct(w.gender.accuracy, 2)}, ` +
    `AUC ${yrs(w.gender.auc, 4)}; age MAE ${yrs(w.age.mae)}, 80% range coverage ${pct(w.age.coverage)} (\`training/imageCopies.ts\`).`;
}

function verifySection(): string {
  const path = 'models/verify-metrics.json';
  if (!existsSync(path)) return 'Not measured yet: run `npx tsx training/verifyEval.ts`.';
  return `Measured by \`npx tsx training/verifyEval.ts\` (full tables in \`verify-metrics.json\`). ${verifyTables(JSON.parse(readFileSync(path, 'utf8')))}`;
}

/** The models' inputs in a few words: "64x64 RGB", or "gender 80x80 RGB, age 64x64 RGB". */
function inputsLabel(g: InputSpec, a: InputSpec): string {
  const colour = (s: InputSpec) => (s.channels === 3 ? 'RGB' : 'grey');
  if (sameSpec(g, a)) return `${g.size}x${g.size} ${colour(g)}`;
  return `gender ${g.size}x${g.size} ${colour(g)}, age ${a.size}x${a.size} ${colour(a)}`;
}

/** The extraction command of each input the two models take (one when they share it). */
function featureCommands(...specs: InputSpec[]): string {
  return [...new Set(specs.map((s) => `\`npm run features -- --size=${s.size} --channels=${s.channels}\``))].join(' and ');
}

function modelCard(m: Figures): string {
  const g = m.models.gender;
  const a = m.models.age;
  const b = m.baseline;
  const p = m.peer;
  const s = m.service;
  const totalBytes = m.models.bytes.gender + m.models.bytes.age;
  return `# Model card: age and gender estimation (UTKFace, tfjs)

Two small convolutional networks we train ourselves in TypeScript on the tfjs wasm backend:
a **gender** binary classifier (\`gender/\`) and an **age** estimator (\`age/\`). They run on a
face crop; the service finds faces with BlazeFace first (\`blazeface/\`, MIT, not ours).

> **Licence of the training data.** UTKFace is available for **non-commercial research
> purposes only**. These weights are derived from it and inherit that restriction: do not use
> them commercially. The code is separate from the weights. The gender net was also trained
> against soft targets from dlib's face-recognition descriptor (public domain; design notes),
> which adds no restriction.

## Data

UTKFace "aligned & cropped" chips (200x200 RGB), 23,705 labelled faces, with the fixed split of
\`utkface.csv\` (sha1(file name) mod 10: 18,986 train / 2,363 val / 2,356 test). Labels: age
1-116, binary sex as annotated (female/male), race (White, Black, Asian, Indian, Others). All
figures below are on **test** (n=${m.n}); calibration and the choice between candidate nets used
**val**, except that two candidates about as good on val were also run on test before being
turned down (design notes, "Pruned nets"; partly on their test figures, partly on speed and age
error), so the shipped gender net's race gap on test is the best of three draws there.
The split is by file name, and UTKFace holds byte-identical copies of some images under other
names: ${m.testWithoutCopies ? `${m.testWithoutCopies.copies} test chips are copies of train or val chips (results below)` : 'some test chips are copies of train or val chips'}.

## Models

| | gender | age |
|---|---|---|
| input | ${g.spec.size}x${g.spec.size}x${g.spec.channels} bytes, rescaled in-graph | ${a.spec.size}x${a.spec.size}x${a.spec.channels} |
| architecture | 4 VGG blocks (${g.config?.widths}) of ${g.config?.convsPerBlock} conv3x3+ReLU, the first conv a stride-2 stem, max-pool between blocks, GAP, dropout ${g.config?.dropout}, sigmoid | same trunk, softmax over ages 0-116 (label-distribution learning: KL to a Gaussian label + ${a.config?.ageL1Weight} x L1 on the expected age) |
| parameters | ${g.parameters} | ${a.parameters} |
| file size (float16 weights) | ${(m.models.bytes.gender / 1024).toFixed(0)} KiB | ${(m.models.bytes.age / 1024).toFixed(0)} KiB |
| training | ${trainingCell(g)} | ${trainingCell(a)} |
| command | ${commandCell(g)} | ${commandCell(a)} |
| seed | ${g.config?.seed} | ${a.config?.seed} |
| served output | ${servedOutputCell(g)} | ${servedOutputCell(a)} |
| calibration (val) | temperature ${g.calibration?.temperature} | ${pct(a.calibration?.intervalLevel, 0)} range stretch x${a.calibration?.intervalScale} |

Both together: ${(totalBytes / 1024 / 1024).toFixed(2)} MiB. Training: Adam, batch ${g.config?.batch}, peak LR ${trainingStages(g)[0].config?.lr} (a fine-tune
stage: its own, in the table) with a one-epoch warm-up and cosine decay, augmentation (flip, +-6% shift, 0.9-1.1 scale, +-10 deg
rotation, brightness +-20, contrast 0.8-1.2). Machine: 2-core VMs (the CPU of each stage is in
the table; this card was computed on ${m.machine.cpu}), one core per model (both trained at
once), Node ${m.machine.node}, tfjs wasm with
our fast conv-gradient kernels (\`training/wasmKernels.ts\`). Features: ${featureCommands(g.spec, a.spec)};
calibration: \`npm run calibrate\`; this card: \`npm run evaluate\`. In a command,
\`--name\` and \`--out\` only choose the checkpoint and export folders; an export elsewhere was
copied into \`models/<task>/\`.

## Results on test

| model | gender acc (all ages) | age MAE (all ages) | age MAE (ages <= 60) | gender acc (ages <= 60) |
|---|---:|---:|---:|---:|
| **ours** | **${pct(m.test.gender.accuracy, 2)}** | **${yrs(m.test.age.mae)}** | ${yrs(m.ageLe60.mae)} | ${pct(m.ageLe60.genderAccuracy, 2)} |
| baseline: original notebook recipe, retrained on our split | ${b ? pct(b.genderAccuracy, 2) : 'n/a'} | ${b ? yrs(b.ageMae) : 'n/a'} | ${b ? yrs(b.ageMaeAgeLe60) : 'n/a'} | ${b ? pct(b.genderAccuracyAgeLe60, 2) : 'n/a'} |
| peer: @vladmandic/face-api ageGenderNet (our run, wasm) | ${p ? pct(p.gender?.accuracy, 2) : 'not measured'} | ${p ? yrs(p.age?.mae) : 'n/a'} | ${p?.ageLe60 ? yrs(p.ageLe60.mae) : 'n/a'} | ${p?.ageLe60?.genderAccuracy ? pct(p.ageLe60.genderAccuracy, 2) : 'n/a'} |

- Gender: ROC AUC ${yrs(m.test.gender.auc, 4)}, expected calibration error ${yrs(m.test.gender.ece, 4)} (10 bins).
- Age: RMSE ${yrs(m.test.age.rmse)} years, ${pct(m.test.age.within5)} within 5 years.
- Age range: the nominal ${pct(a.calibration?.intervalLevel, 0)} interval \`[low, high]\` covers **${pct(m.test.age.coverage)}** of test ages (mean width ${yrs(m.test.age.meanWidth, 1)} years).
- Gender accuracy gap between race groups with 200+ test faces (${m.genderRaceGap.groups.join(', ')}): **${yrs(m.genderRaceGap.gapPoints, 1)} points**${adultGap(m)}. A noisy figure: two group accuracies on 340-1000 faces differ by ~2 points from sampling alone (design notes, "Pruned nets": the shipped gender net's gap is 6.6 points on val).${withoutCopiesLine(m)}
- Baseline: conv32-BN-maxpool-conv64-maxpool-dense64-dropout0.5 on 48x48 grayscale; SGD + binary cross-entropy (gender), Adam + MSE (age, trained on ages <= 60, as the original). ${b ? `Commands: \`${b.commands.gender}\`, \`${b.commands.age}\`.` : ''}
- The peer was trained on UTKFace and may have seen these test images; its row is an upper bound for it.
${s ? `- Serving path (JPEG -> decode -> detector -> crop -> models) on the same chips: face found in ${pct(s.detectOn.faceFoundRate, 2)}; detect on: gender ${pct(s.detectOn.genderAccuracy, 2)}, age MAE ${yrs(s.detectOn.ageMae)}; detect off: gender ${pct(s.detectOff.genderAccuracy, 2)}, age MAE ${yrs(s.detectOff.ageMae)}.` : ''}

### By group

${groupTable(m)}

### Age MAE by band, gender and race (years)

${bandTable(m)}

${peerTable(m)}### Plots

![Predicted vs true age](age-scatter.svg) ![Gender calibration](gender-calibration.svg)

## Design notes (measured here, on val unless stated)

Roughly in the order they were measured. "The shipped net" or "the shipped pair" means the one
shipped when the note was written: up to the note "Shipped: the age-balanced lineage's second warm
restart", the gender net was gender-bfd28ea7 (80x80, served with its flip: val 92.42%, both models
14.3-15.5 ms on an AMD EPYC vCPU); from it on, gender-105e66da (one view: val 92.38%, both models
10.8-11.4 ms). The figures of the models shipped now are in the tables above.

- **Input representation: 64x64 RGB** (the age net; the gender net later moved to 80x80, below), chosen on val by a controlled run: the same net, seed and
  4-epoch schedule on the gender task reached val 86.42% on 48x48 grayscale and 88.19% on 64x64
  RGB (+1.8 points), training at 107 vs 82 images/s
  (\`npm run train -- --task=gender --epochs=4 --size=48 --channels=1\`, and \`--size=64 --channels=3\`).
- **Gender at 80x80** (alone, not shipped; the distilled gender net shipped before the current one was its descendant, below). The net ends in global average pooling, so its 64x64
  weights run at any size. A warm restart at 80x80 from the 64x64 gender net (\`npm run features --
  --size=80\`, then \`npm run train -- --task=gender --size=80 --init=.cache/runs/gender-ft8
  --epochs=8 --lr=5e-4\`; otherwise the settings of its 64x64 twin gender-ft8b, seed 1337) reached
  val 90.18, 91.03, 90.94, 91.37, 91.07, 91.54, 91.37, 91.49% per epoch, against 90.31, 90.73,
  90.65, 90.56, 90.90, 91.07, 91.11, 91.16% for the twin: higher at 7 of 8 epochs (mean +0.31
  points). Its best, 91.54%, is 0.22 points above the 64x64 net then shipped (gender-ft8, 91.32%), within val's noise,
  for 1.56x the gender net's conv MACs (both models together, before the age flip: p50 13.0-13.2
  vs 10.3-11.9 ms, \`MODEL_DIR=<folder with it> npx tsx bench/predict.ts\` alternated with the
  shipped models). A second 80x80 warm restart from it (\`--init=.cache/runs/gender-s80\`, same
  settings) reached 91.07, 90.99, 91.20, 91.16, 91.45, 91.28, 91.41, 91.49%: no better. Not shipped then.
- **Age at 80x80** (not shipped). The same warm restart for the age net (\`npm run train --
  --task=age --size=80 --init=.cache/runs/age-ft8e --epochs=8 --lr=5e-4\`, seed 1337) reached val
  MAE 6.051, 5.713, 5.613, 5.803, 5.522, 5.378, **5.358**, 5.369 per epoch (median, no flip),
  against 5.520 for the shipped 64x64 net; with test-time flip 5.197 against 5.235
  (\`npx tsx training/flipChoice.ts --models=<folder with it>\`). A 0.04-year gain, within noise
  (the paired standard error is ~0.045), for 1.56x the age net's conv MACs, which with the flip
  are two thirds of the inference time: not shipped. A 4-epoch repeat from the age net now shipped
  (\`--init=models/age --epochs=4\`, 2026-12-01) reached 6.051, 5.674, 5.488, 5.416; with the flip
  5.256 against 5.235 (+0.021 years, standard error 0.071, \`npx tsx training/compareAge.ts
  --candidate=<its export>\`).
- **Gender at 96x96** (not shipped). A warm restart of the shipped 80x80 gender net at 96x96 with
  its recipe (\`npm run features -- --size=96\`, then \`npm run train -- --task=gender --size=96
  --init=models/gender --teacherFile=.cache/teachers/gender-dlib.json --distill=0.5
  --auxEmbedding=0.5 --epochs=4 --lr=5e-4\`, seed 1337) reached val 90.61, 91.28, 91.45, 91.96%;
  with test-time flip 92.04% against the shipped net's 92.42% (31 faces gained, 40 lost, z = -1.07),
  for 1.44x its conv MACs: a larger input stops paying past 80x80.
- **Cheaper nets** (for the 5 ms inference target, \`npx tsx bench/archCost.ts\`): with the same
  seed and 4-epoch gender schedule, half the widths (16,32,64,96; 12 M conv MACs instead of 48 M)
  reached val 86.84% and one conv per block 84.51%, against 88.19% for the shipped net.
  Distilling the shipped gender model into the half-width net (\`--teacher=models/gender
  --distill=0.5\`) in the same schedule reached 86.75%: no gain beyond val's noise. With the dlib
  teacher and hint head instead (\`npm run train -- --task=gender --widths=16,32,64,96
  --teacherFile=.cache/teachers/gender-dlib.json --distill=0.5 --auxEmbedding=0.5\`, seed 1337):
  86.25% in those 4 epochs, and 20 epochs (\`--epochs=20\`, 31 min on one core at ~210 images/s)
  reached 72.11, 83.33, 84.81, 86.20, 86.50, 87.64, 88.19, 88.19, 89.08, 89.08, 89.89, 89.46, 90.06,
  89.89, 90.06, 90.39, 90.35, 90.39, 90.44, **90.56%**; with test-time flip 90.73%, 1.7 points
  under the shipped net as served (36 faces gained, 76 lost, z = -3.78), and 0.7 under the
  full-width net's own first 20 epochs (91.24%, without a teacher). Moved on to 80x80 with the
  same teacher for 12 more epochs (\`npm run train -- --task=gender --size=80 --widths=16,32,64,96
  --init=<that net> --teacherFile=.cache/teachers/gender-dlib.json --distill=0.5 --auxEmbedding=0.5
  --epochs=12 --lr=1e-3\`, ~2.5 min per epoch beside another run): 89.04, 90.22, 90.18, 90.86,
  90.18, 90.65, 90.99, 90.86, 91.32, **91.58**, 91.28, 91.49%, the shipped net's 91.83% within
  noise without the flip, but the flip does not help it (91.45%): 0.97 points under the shipped net
  as served (41 faces gained, 64 lost, z = -2.24), lost mostly on children (68.1% vs 71.7% on val)
  and teenagers. A 5-epoch warm restart from it (\`--init=<it> --epochs=5 --lr=5e-4\`, same teacher)
  reached 90.90, 90.86, 91.24, 91.41, 91.32%, and another 91.11, 91.24, 91.24, **91.54**, 91.54%:
  with the flip 91.83%, 0.59 points under the shipped net as served (47 gained, 61 lost, z = -1.35).
  An age net of the same width (\`npm run train -- --task=age --widths=16,32,64,96 --epochs=20\`,
  then twice \`--init=<it> --epochs=8 --lr=5e-4\`) reached val MAE 6.31, then 6.12, then 6.05
  (median, no flip; ~90 s an epoch); with the flip 5.79 against the shipped net's 5.24 (+0.55 years,
  standard error 0.09). Both with the flip take 4.2-4.6 ms against 14.3-14.6 ms for the pair
  shipped then on an AMD EPYC vCPU (BENCHMARKS.md, "The half-width pair"): under the 5 ms target, but the age net would miss
  the 5.5-year one. The price of the 5 ms class, measured (2026-12-01). A third warm restart of
  that age net reached 6.00 (5.72 with the flip); a fourth that also learns from the shipped age
  net's flip-averaged output (\`--init=<it> --teacher=models/age --teacherFlip=1 --distill=0.5
  --epochs=8 --lr=5e-4\`) 6.21, 6.11, 6.02, 6.27, 5.90, 5.93, 5.89, **5.88**, with the flip **5.62**:
  +0.38 years against the shipped net (standard error 0.08): distillation about doubled what a
  restart gains. A second such restart from it reached 6.00, 5.94, 5.95, 6.07, 5.92, 5.91, 5.85,
  **5.84**, with the flip 5.60 (+0.36, standard error 0.08): restarts have levelled off ~0.25 years
  short of what the 5.5-year target needs on test (test runs ~0.15 years above val here).
- **Depthwise-separable convs do not pay on wasm** (not shipped). \`npm run train -- --conv=separable\`
  makes every conv after the stem a 3x3 depthwise plus a 1x1 conv (wasm has no depthwise gradient
  kernels; \`training/wasmKernels.ts\` adds them, tested against tfjs's reference kernels). In the
  4-epoch gender schedule above (64x64, seed 1337) it reached val 78.80, 85.06, **86.42**, 86.33%, the
  level of the half-width full-conv net (86.84%), with 55% of its multiply-adds but only 9-20% less
  inference time (both models, both flips: 3.5 vs 4.4-4.5 ms; twice as wide, 9.1-9.8 ms; the pair shipped then
  14.8-15.0 ms; BENCHMARKS.md). tfjs 4.22's SeparableConv2D initialises its 1x1 kernel with the
  depthwise initializer (a first run stayed at loss ln 2), so \`training/models.ts\` sets both.
- **No batch norm.** On wasm, batch norm's gradient (mostly \`Tile\`) cost 40% of a step:
  46 vs 79 images/s for the same 64x64x3 net (\`tf.profile\` of one step). A stride-2 stem was
  the other big saving (58 -> 190 images/s for a 4-conv net), because full-resolution convs
  dominate the filter-gradient cost.
- **Dropout seeding.** A seeded tfjs dropout layer draws the *same* mask at every step; training
  seeds \`Math.random\` per epoch instead, so masks vary yet runs repeat.
- **Training length.** The same net, recipe and seed trained for 12 epochs reached val 90.61% /
  6.456 years (test 90.28% / 6.56); 20 epochs reach val 91.24% / 5.879 (test 91.13% / 6.11).
  Fine-tuning those 20-epoch models for 8 more epochs (a warm restart: peak LR 5e-4, cosine)
  reached val 91.32% / 5.699 (test 91.30% / 5.92): the age model gains most, gender is within
  noise (val's standard error is about 0.6 points). A second warm restart of 8 epochs, same
  settings, took age to val 5.647 (test 5.82; both with the mean as the estimate, see below) and gender to val 91.16%, below its 91.32%, so
  the gender model stayed the first fine-tune (that age stage's 90 min include ~35 min when a
  distillation experiment shared the two cores). A third 8-epoch warm restart of the age model
  (\`--init=.cache/runs/age-ft8b\`, same settings; best epoch 7) reached val 5.601 with the mean
  and 5.569 with the median (the shipped estimate; 5.598 before), test 5.72 (was 5.79); it ran
  ~100 min beside review work on the other core. A fourth (\`--init=.cache/runs/age-ft8c\`, same
  settings, early stopping on the median; best epoch 8) reached val 5.530 with the median (5.571
  with the mean), test 5.69 (was 5.72). A fifth (\`--init=.cache/runs/age-ft8d\`, same settings;
  best epoch 7), the shipped age model, reached val 5.520 with the median (5.558 with the mean),
  test 5.68 (all without test-time flip, below): this restart gained 0.01 year, within noise, so more of them will not reach 5.5. A fresh 28-epoch run did
  not fit in a session on the slower machine the fine-tunes ran on (~9-10 min per epoch per
  model there).
- **Multi-task gender net** (\`--auxAge=0.1\`: an auxiliary age head on the gender trunk, dropped at
  export): \`npm run train -- --task=gender --init=.cache/runs/gender-ft8 --auxAge=0.1 --epochs=8
  --lr=5e-4\` reached val 90.73, 90.90, 91.28, 90.99, 90.73, 91.24, 91.28, 91.28% per epoch; its
  twin without the head (same init, LR, epochs and seed: gender-ft8b) 90.31, 90.73, 90.65,
  90.56, 90.90, 91.07, 91.11, 91.16%. Higher at 7 of 8 epochs (mean 91.05 vs 90.81%), by less than val's noise, and neither beats the
  91.32% of gender-ft8, then shipped, so it stayed.
- **Point estimate: the median** of the age distribution, not its mean (the training loss uses
  the mean, and so did early stopping until the third fine-tune; from the fourth on, early stopping
  uses the median, as served): on val, without test-time flip, MAE 5.520 vs 5.558 (mode: 5.615;
  \`npx tsx training/ageSummaryChoice.ts --testTimeFlip=off\`; the previous age model: 5.530 vs 5.571);
  with the flip, as served, 5.235 vs 5.276 (mode: 5.449; \`--testTimeFlip=on\`). The median minimises the expected absolute error;
  the interval is stretched about it.
- **One interval stretch for all ages.** Teenagers' ranges cover far less than 80% (table above).
  A stretch per predicted-age band (<13, 13-19, 20-39, 40-59, 60+), fitted on half of val, did not
  help on the other half: teens 51.6% -> 45.2%, all 76.5% -> 75.9% (same command, the shipped age
  net without test-time flip; the fourth fine-tune: 51.6% -> 40.3%, 77.3% -> 76.9%; with the flip,
  as served: teens 48.4% -> 48.4%, all 77.2% -> 77.7%). Their misses
  are bias (teens estimated as children or adults), not too narrow a range.
- **Ensembles do not pay** (\`npx tsx training/ensembleVal.ts\`, val): averaging the warm-restart
  stages, gender e20/ft8/ft8b alone 91.20/91.32/91.16%, all three 91.41%; age ft8c+ft8d 5.535 against 5.530 for ft8d alone (and ft8b+ft8c 5.568 against 5.569). A second gender lineage, the net started from the age net's
  trunk (\`npm run train -- --task=gender --init=.cache/runs/age-ft8c --initTrunk=1 --epochs=8
  --lr=1e-3\`), reached 90.90% alone and 91.32% averaged with the shipped gender net (91.32%
  alone): not worth a second net's inference time. Averaging the *weights* of a net and its
  warm restart (a "soup", free at inference; \`--combine=weights\`) does not help either: gender
  ft8+ft8b 91.20% (ft8 alone 91.32%), age ft8c+ft8d 5.542 (ft8d alone 5.530).
- **Test-time flip: on for age; for gender it was on with the 80x80 distilled net (below) and is off for the net shipped now, which is as accurate on one view**
  (\`npx tsx training/flipChoice.ts\`, val; the nets shipped before it). Serving the mean of the net's outputs on the face and on its mirror image took
  the age MAE from 5.520 to **5.235** (paired difference -0.285 years, standard error 0.047; the
  mirror image alone: 5.421) and gender from 91.32% to 91.58% (31 faces gained, 25 lost: z = 0.8,
  noise). Training flips half its faces, so both views are ones the net has learnt, and their
  errors partly cancel. It costs a batch of two per face (both models together: p50 14.4-14.9 vs
  9.9-10.1 ms, +42-47%, \`npx tsx bench/predict.ts\` alternated), so it is on where it pays, the age net
  (\`npm run calibrate -- --testTimeFlip=age\`, which then refits the range's stretch on the
  averaged outputs: x0.9628 -> x0.8921, as they are wider). On the 12-epoch models it had gained
  less (age 6.456 -> 6.351, gender 90.61% -> 90.35%) and was left off. On the shipped 80x80 gender
  net it pays on its own: 91.83% -> 92.42% (29 faces gained, 15 lost, z = 2.11), so it is on for
  both (\`npm run calibrate -- --testTimeFlip=gender,age\`; gender temperature refit: 1.12). The
  age-balanced net shipped after it gains only 4 faces from the flip (92.38% -> 92.55%), so it is
  served without (\`npm run calibrate -- --testTimeFlip=age\`; gender temperature 1.21).
- **Distilling the flip into the net does not pay** (not shipped). A warm restart of the shipped
  age net taught by its own flip-averaged output (\`npm run train -- --task=age
  --init=.cache/runs/age-ft8e --teacher=.cache/runs/age-ft8e --teacherFlip=1 --distill=0.5
  --epochs=8 --lr=5e-4\`, seed 1337, best epoch 8) reached val MAE 5.462 on the face alone, against
  5.235 for the shipped net with the flip, and 5.210 with the flip itself: -0.025 years, standard
  error 0.021 (\`npx tsx training/compareAge.ts --candidate=<its export>\`), under the 2 standard
  errors we ask of a new model. The same for gender (\`--task=gender --init=.cache/runs/gender-ft8
  --teacher=.cache/runs/gender-ft8 --teacherFlip=1\`) reached val 90.56, 90.44, 91.11, 90.94, 90.99,
  91.24, 91.24, 91.11% per epoch (best epoch 6): none above gender-ft8's 91.32%.
- **The gender nets learnt from a teacher trained on far more faces** (training time only).
  dlib's ResNet face descriptor (Davis King, public domain; ~3 M faces of 7,485 identities from
  FaceScrub, VGG-Face and the web, not UTKFace), as ported in face-api's \`face_recognition_model\`,
  gives a 128-d descriptor per chip (\`npx tsx training/faceEmbeddings.ts --shard=0/2\` and
  \`--shard=1/2\`, ~70 ms a face: too slow to serve, and never served). A probe on them reaches
  val 92.47% (linear) and 93.40% (an MLP; \`npx tsx training/embeddingTeacher.ts\`; out-of-fold on
  train, so no face's soft target saw its label: 93.54%): 98.1% for ages 20-39, but 73.3% for
  ages 0-12, as hard for it as for us. Served beside our net (the mean of the two logits) it would
  lift val to 93.57% (ours 92.42%; \`npx tsx training/ensembleVal.ts --task=gender --testTimeFlip=1
  --models=models/gender --teacherFile=.cache/teachers/gender-dlib.json\`), but its descriptor net
  takes ~70 ms a face and its weights alone (6.1 MiB) exceed the 5 MB budget: a teacher, not a member.
  Four warm restarts, seed 1337, each scored against the
  gender-ft8 net then shipped (\`npx tsx training/compareGender.ts --candidate=<export>\`: faces only
  one net gets right, z = (gained - lost) / sqrt(gained + lost)):
  soft targets 0.5 x the probe's P(female) + 0.5 x the label (\`npm run train -- --task=gender
  --init=.cache/runs/gender-ft8 --teacherFile=.cache/teachers/gender-dlib.json --distill=0.5
  --epochs=6 --lr=5e-4\`): val 90.69, 90.90, 91.32, 91.45, 90.90, 91.58% per epoch (z = 0.76; with
  test-time flip 91.87%, z = 1.50); \`--distill=0.8\`: best 91.45% (z = 0.37; flip 1.44); plus a head
  regressing the standardised descriptor from the pooled features (\`--auxEmbedding=0.5\`, dropped
  at export): best 91.32% (z = 0.00; flip 1.21); and the same at 80x80 from gender-s80
  (\`--size=80 --init=.cache/runs/gender-s80 --teacherFile=... --distill=0.5 --auxEmbedding=0.5
  --epochs=5\`): 91.03, 91.41, 91.41, **91.83**, 91.49% (z = 1.15), and with test-time flip
  **92.42%**: 63 faces gained, 37 lost, z = 2.60, the one setting of eight over the z > 2 we ask of
  a new model, so it was shipped (\`gender-bfd28ea7\`; "the shipped net" in the notes below until
  the age-balanced net replaced it). Eight tries make z = 2.6 weaker evidence than one (Bonferroni:
  p of about 0.04 instead of 0.005); the test figures above were not used to choose. Its cost:
  1.56x the gender net's conv MACs and two views per face (timings in BENCHMARKS.md).
- **More of the same no longer moves the gender net** (not shipped). Two warm restarts of the
  shipped net with its own recipe at a lower peak LR, seeds 1337 and 2024 (\`npm run train --
  --task=gender --size=80 --init=models/gender --teacherFile=.cache/teachers/gender-dlib.json
  --distill=0.5 --auxEmbedding=0.5 --epochs=5 --lr=3e-4 --seed=<seed>\`), reached val 92.00,
  92.00, 91.71, 92.21, 92.00% and 91.41, 92.13, 92.13, 91.83, 92.13% per epoch (the shipped net:
  91.83%). As served, with test-time flip, against the shipped net's 92.42%: the mean of the two
  last epochs' *weights* (a model soup, free at inference: \`npx tsx training/soup.ts\`) 92.42%
  (22 faces differ, 11 each way, z = 0); of epochs 3-5 of both, 92.42% (z = 0); the best epochs
  alone 92.55% (z = 0.77) and 92.00% (z = -1.77). Gains now have to come from the net or its
  input, not from its schedule.
- **Weighing the rare age bands up does not pay in a warm restart** (not shipped). The peer's lead
  is at the ends of the age range (table above), where train has fewest faces per band; with
  \`--balanceAges=p\` each face's loss weighs (train faces in its age band)^-p, mean 1. The control
  run above (seed 1337) plus \`--balanceAges=0.5\` reached val 91.92, 92.09, 91.87, 92.30, 92.26%;
  with \`--balanceAges=1\` (every band the same total weight) 91.71, 91.87, 91.54, 92.30, 92.30%
  (the control: 92.00, 92.00, 91.71, 92.21, 92.00%). As served, with the flip, against the shipped
  net's 92.42%: 92.38% (z = -0.23) and 92.21% (z = -0.93); p = 1 gains 0-12, 40-59 and 60+ by a face
  or a few and loses 8 faces of 20-39 (\`training/compareGender.ts\` prints the bands). A warm
  restart at this LR changes only ~20-70 val answers. From the start of a lineage (\`npm run train --
  --task=gender --size=80 --teacherFile=.cache/teachers/gender-dlib.json --distill=0.5
  --auxEmbedding=0.5 --balanceAges=0.5 --epochs=20\`, seed 1337, ~2.8 h on one core over two
  sessions) it reached val 72.07, 82.90, 86.42, 87.81, 88.83, 88.24, 90.18, 90.65, 90.27, 91.41,
  90.69, 90.77, 92.13, 91.32, 91.71, **92.30**, 92.17, 92.13, 92.04, 92.17%: in one 20-epoch stage
  what the shipped net reached in four, yet with the flip 92.30% against its 92.42% (48 faces
  gained, 51 lost, z = -0.30). It moves errors between bands: 0-12 73.3% vs 71.7%, 60+ 93.1% vs
  92.3%, but 20-39 95.8% vs 96.7% (z = -2.04). Not shipped. Its warm restart (\`--init=<it>
  --balanceAges=0.5 --epochs=5 --lr=5e-4\`, the rest as above) reached 91.41, 91.87, 91.87, 91.79,
  92.00%, with the flip 92.47% (50 gained, 49 lost, z = 0.10; 60+ 94.5% vs 92.3%, 20-39 95.9% vs
  96.7%). Averaged with the shipped net (\`training/ensembleVal.ts\`, both flipped): 92.64%; with
  the 20-epoch net too, 92.81%: +0.4 points for three times the gender net's inference, not paid.
- **A children's gender net does not pay either** (not shipped). Gender is hardest on children
  and the age net finds them (MAE ~2 years under 13), so a net fine-tuned on children alone could
  answer for the faces the age net places under 13 at no extra inference. From the shipped net on
  train faces aged 0-15, scored on val faces 0-12 (\`npm run train -- --task=gender --size=80
  --init=models/gender --teacherFile=.cache/teachers/gender-dlib.json --distill=0.5
  --auxEmbedding=0.5 --minTrainAge=0 --maxTrainAge=15 --maxValAge=12 --epochs=10 --lr=5e-4\`, ~13
  min): val 0-12 without the flip 71.73, 72.34, 72.95, 75.99, 75.99, 74.16, 74.47, 73.86, 75.38,
  75.99% per epoch, against the shipped net's 71.73% as served (with the flip). Routed as served (\`npx tsx training/routeVal.ts --specialist=<last epoch's export>\`,
  estimate < 13): without its flip 92.93% overall (27 gained, 15 lost, z = 1.85), with it 92.59% (z =
  0.78); without the dlib teacher (labels only, the probe is as weak on children, 73%) 92.76% (z =
  1.15) and 92.59% (z = 0.63). Routing the balanced net's restart above (estimates < 13 or >= 60,
  the bands it was weighted toward): 92.59% (z = 0.53). Four settings chosen on one val set, none
  over z = 2: +1-3 points on ~330 children is within val's noise.
- **Shipped: the age-balanced lineage's second warm restart, served without the flip.** From the
  restart above with the age weights halved (\`npm run train -- --task=gender --size=80
  --init=.cache/runs/gender-bal05-ft5 --teacherFile=.cache/teachers/gender-dlib.json --distill=0.5
  --auxEmbedding=0.5 --balanceAges=0.25 --epochs=5 --lr=5e-4\`, seed 1337, best = last epoch): val
  91.66, 92.13, 92.17, 92.17, **92.38%** on the face alone, against 92.42% for gender-bfd28ea7 as it
  was served, with the flip (52 faces gained, 53 lost, z = -0.10); with its own flip 92.55% (z =
  0.31; 0-12 72.3% vs 71.7%, 60+ 94.2% vs 92.3%, 20-39 96.3% vs 96.7%). Not more accurate on val,
  so it was not chosen for accuracy (that needs z > 2); it was chosen because it is as accurate on
  one view as the old net on two, which takes both models from 15.1-15.5 to 10.8-11.2 ms a face
  (\`npx tsx bench/predict.ts\`, alternated with the old models, BENCHMARKS.md). The test figures
  above came after that choice. A restart from the same parent without age weights
  (\`--balanceAges=0\`, otherwise the same) reached 91.32, 91.96, 92.00, 91.75, 92.04%; against the
  net now shipped: 92.04% alone (3 gained, 11 lost, z = -2.14), 92.55% with its flip (z = 0.63).
  A further restart from the shipped net, same settings (\`--init=<it> --balanceAges=0.25\`), reached
  92.00, 91.75, 92.26, 91.92, 92.38%: alone 92.38% (8 gained, 8 lost, z = 0.00), with its flip
  92.93% (29 gained, 16 lost, z = 1.94; 17 of the 29 on children), just under z = 2 for twice the
  gender net's time; averaged with the shipped net, one view each, 92.38% (the two are too alike
  for an ensemble to pay; \`training/ensembleVal.ts\`). A half-width net of this lineage's recipe
  from the start (\`npm run train -- --task=gender --size=80 --widths=16,32,64,96
  --teacherFile=.cache/teachers/gender-dlib.json --distill=0.5 --auxEmbedding=0.5 --balanceAges=0.5
  --epochs=20\`, ~2.5 min an epoch), for a 5 ms pair with one gender view: val 90.69% after 20
  epochs, 91.11% with its flip (z = -3.46 and -2.79 against the shipped net), under the older
  half-width net's 91.54% (above): the lineage's gain does not carry over to the half width.
  A restart from that further restart (\`--init=<it>\`, same settings): 91.11, 92.13, 91.83, 92.13,
  92.47%: alone 92.47% (24 gained, 22 lost, z = 0.29), with its flip 92.68% (z = 0.91): the
  further restart's 92.93% with the flip was its luck, not a trend.
- **More depth does not pay in a restart either** (not shipped). \`--deepBlocks=2,3\` adds a third
  conv to the last two blocks (+23 M MACs, +31%; +480 k parameters), each starting as the
  identity so the deeper net begins as the shipped one (Net2DeeperNet; \`training/models.ts\`
  \`identityInitialise\`, tested). With the shipped net's recipe (\`npm run train -- --task=gender
  --size=80 --init=models/gender --deepBlocks=2,3 --teacherFile=.cache/teachers/gender-dlib.json
  --distill=0.5 --auxEmbedding=0.5 --balanceAges=0.25 --epochs=5 --lr=5e-4\`, seed 1337, ~9 min an
  epoch): 91.11, 92.04, 91.62, 92.13, 92.51%: alone 92.51% (19 gained, 16 lost, z = 0.51), with
  its flip 92.51% (z = 0.40), level with its control alone and under it with the flip, the plain restart from the shipped net above (92.38% alone, 92.93% with its flip).
- **Pruned nets: the 5 ms class at a smaller price** (not shipped). Channel pruning
  (\`--prune=1\`: a narrower net starts from a trained wider one, each conv keeping its
  largest-L1 filters, \`training/models.ts\` \`pruneInto\`, tested) of both shipped nets to
  widths 20,40,80,128 (0.40x their conv MACs), then fine-tuned: gender with its own recipe
  (\`npm run train -- --task=gender --size=80 --widths=20,40,80,128 --init=models/gender --prune=1
  --teacherFile=.cache/teachers/gender-dlib.json --distill=0.5 --auxEmbedding=0.5 --balanceAges=0.25
  --epochs=6 --lr=1e-3\`, seed 1337, ~3.7 min an epoch) reached val 91.28, 90.86, 91.41, 91.79, 92.13,
  **92.21%** (against the shipped net: 25 faces gained, 29 lost, z = -0.54; 60+ 92.3% vs 94.5%);
  age learning from the shipped age net's flip-averaged output (\`npm run train -- --task=age
  --size=64 --widths=20,40,80,128 --init=models/age --prune=1 --teacher=models/age --teacherFlip=1
  --distill=0.5 --epochs=8 --lr=1e-3\`, ~4.5-6 min an epoch beside other runs) reached val MAE 6.19,
  5.95, 5.94, 5.86, 5.94, 5.71, 5.73, **5.69**, with the flip 5.425 against 5.235 (+0.19, standard
  error 0.048): 0.18 years better than the half-width net's best (5.60), at 0.40x instead of 0.25x
  the cost. Both together take 4.8-5.1 ms against 11.0-11.4 ms for the shipped pair (0.44-0.45x;
  BENCHMARKS.md, "The pruned pair"). Run through the whole adoption pipeline (calibration,
  verify thresholds, \`npm run evaluate\`) the pruned gender net scored **91.77%** on test against
  the shipped net's 92.36% (age unchanged), further from the 93% target, while the pair would sit
  at the 5 ms line rather than under it and its age net would miss 5.5 years on test (test runs
  ~0.15 years above val). So the shipped pair stays; this test figure was seen before that
  decision, which keeps the status quo. Pruned less (widths 24,48,96,160, 0.585x the MACs; the
  same age command with \`--widths=24,48,96,160\`), the age net reached val 6.23, 5.77, 5.80, 5.69,
  5.63, 5.65, 5.61, **5.59**, with the flip 5.332 (+0.097, standard error 0.038; a warm restart,
  \`npm run train -- --task=age --size=64 --widths=24,48,96,160 --init=.cache/runs/age-prune58
  --teacher=models/age --teacherFlip=1 --distill=0.5 --epochs=8 --lr=5e-4\`: 5.74, 5.63, 5.64,
  5.73, 5.76, 5.57, 5.56, **5.545**, with the flip 5.296, +0.061, standard error 0.038; and another
  from it at \`--lr=3e-4\`: 5.88, 5.57, 5.57, 5.58, 5.62, 5.54, 5.54, **5.531**, with the flip 5.280,
  +0.045, standard error 0.038: each restart gains less), but beside the
  pruned gender net the pair takes 6.8-7.5 ms (BENCHMARKS.md): no pruned pair both keeps the age
  net near 5.5 years on test and fits in 5 ms. The gender net pruned as little (the gender command
  with \`--widths=24,48,96,160\`) reached val 91.66, 91.24, 91.58, 92.17, 92.55, **92.59%**: 27
  faces gained, 22 lost against the shipped net (z = 0.71; 0-12 73.6% vs 71.4%, but 60+ 92.3% vs
  94.5%, 6 faces lost and none gained, as for the 0.40x net), with the flip 92.64%: as accurate on
  val at 0.585x its MACs. Through the whole adoption pipeline (served on one view, 2026-12-01) it
  scored **92.44%** on test against 92.36% (AUC 0.9794 vs 0.9787; 60+ 91.9% for both), but its
  gender gap between race groups rose from 2.5 to **5.0 points** (Asian 89.5% vs 90.9%, Indian
  94.5% vs 93.5%), over issue 2's 4-point bound, so it was not shipped. That gap is mostly noise:
  a difference of two group accuracies on 340-1000 faces has a standard error of ~2 points, and
  on val the *shipped* net's gap is 6.6 points (Asian 87.7%, Black 94.4%) against 5.5 for this one
  (\`npx tsx training/compareGender.ts\` now prints both). The 2.5 points on test are a lucky draw
  from a gap whose sampling error is ~2 points (the Asian group, lowest on val, holds many
  children: 98 of its 342 test faces are 0-12, where every net is at ~72%); among test faces aged
  20+ the shipped net's gap is 3.0 points.
- **The face-recognition teacher does not carry over to age** (not shipped, 2026-12-02). An MLP
  probe regressing log(age + 1) on the same dlib descriptors (\`npx tsx training/embeddingTeacher.ts
  --task=age --epochs=40\`, out-of-fold on train) is a weak estimator on its own, val MAE 6.16
  (train out-of-fold 5.91), but a different one: averaged 0.7 / 0.3 with the shipped age net as
  served it takes val from 5.235 to 5.004 (a scratch script). As a teacher in a warm restart of
  the shipped net (\`npm run train -- --task=age --size=64 --init=models/age
  --teacherFile=.cache/teachers/age-dlib.json --distill=0.3 --auxEmbedding=0.5 --epochs=6
  --lr=5e-4\`, seed 1337; targets: 0.3 x a label-shaped distribution about the probe's estimate
  + 0.7 x the label, plus the descriptor hint head) it reached val 5.740, 5.671, 5.567, 5.585,
  **5.522**, 5.537 (median, no flip), with the flip 5.300 against 5.235 (+0.064, standard error
  0.036; \`npx tsx training/compareAge.ts\`); with \`--distill=0.5\` 5.700, 5.790, 5.623, 5.666,
  5.620, **5.605**, with the flip 5.414 (+0.178, 0.048): the more weight the probe gets, the
  worse. What the probe adds in an average it does not add as a target: its errors are its own,
  and the net learns them rather than what it knows. The descriptor hint head alone
  (\`npm run train -- --task=age --size=64 --init=models/age --auxEmbedding=0.5 --epochs=8
  --lr=5e-4\`, seed 1337; stopped after epoch 1 and resumed) reached 5.885, 5.699, 5.655, 5.650,
  5.557, 5.537, 5.497, **5.480**, with the flip 5.203: -0.032 years, standard error 0.024, 1.3
  standard errors, under the 2 we ask of a new model; not shipped. The same with \`--seed=2024\`
  reached 5.847, 5.688, 5.673, 5.565, **5.496**, 5.517, 5.518, 5.499, with the flip 5.266 (+0.031,
  standard error 0.037), and a restart from the first (\`--init=<it>\`) 5.856, 5.753, 5.720, 5.605,
  5.634, 5.625, 5.576, **5.556**, with the flip 5.237 (+0.002): the first run's -0.032 was its seed.
  Their weights averaged (\`npx tsx training/soup.ts\`; all fine-tuned from the shipped net, so in
  one basin): the two seeds 5.210 (-0.025, standard error 0.025), with the shipped net 5.208
  (-0.027, 0.018), and with the restart too 5.207 (-0.028, 0.018): about 1.5 standard errors, and
  a few hundredths of a year; not shipped.
- **Random erasing does not pay in a warm restart** (not shipped, 2026-12-02). \`--erase=0.5\` greys
  one random rectangle (2-25% of the image, aspect 0.3-3.3) on half the training faces, so the net
  must read the whole face. Gender, the shipped net's own last-stage recipe plus it (\`npm run
  train -- --task=gender --size=80 --init=models/gender --teacherFile=.cache/teachers/gender-dlib.json
  --distill=0.5 --auxEmbedding=0.5 --balanceAges=0.25 --epochs=5 --lr=5e-4 --erase=0.5\`, seed 1337):
  val 91.66, 91.58, 91.83, 92.09, **92.21%**; against the shipped net 19 faces gained, 23 lost
  (z = -0.62), with its flip 92.34% (z = -0.14); its plain control (the further restart above)
  reached 92.38%. Age (\`npm run train -- --task=age --size=64 --init=models/age --epochs=8 --lr=5e-4
  --erase=0.5\`): 5.714, 5.722, 5.563, 5.493, 5.491, **5.459**, 5.479, 5.462, the best single-view
  figure of any restart this far, but with the flip 5.232 (-0.003, standard error 0.042): what it
  gains on one view the flip already gave. The uniform soup of every net fine-tuned from the
  shipped age net (it, the hint-head run's two seeds, this one and the two teacher runs
  above; \`npx tsx training/soup.ts\`) 5.207 with the flip (-0.028, standard error 0.020): the soup
  gain stays at the same few hundredths however many siblings go in.
- **The age net's features do not help the gender answer** (not used). A logistic probe for sex
  on the age net's pooled features (flip-averaged as served, fitted on train by full-batch Adam
  with a small L2; a scratch script, not kept) would cost nothing
  at inference, since the age net runs anyway; it reaches val 80.49% alone, and added to the
  gender net's logit at weights 0.1-1.0 it moves val between 91.58% and 92.42% (z from -2.01 to
  0.17): the gender net already knows what the age net's features add.
- **Serving crops** follow the training chips: BlazeFace keypoints give a crop with mean IoU
  0.918 against the chip (\`training/calibrateCrop.ts\`, fitted on val); a face is found in
  ${pct(s.detectOn.faceFoundRate, 2)} of test chips.

## Document-verification decisions

${verifySection()}

## Intended use

- Research, prototyping and aggregate analytics on consenting subjects, and as **one weak
  signal** in document verification, where a human reviews anything \`inconsistent\` or
  \`inconclusive\`.
- Always read the range and confidence, not only the point estimate: a 30-year-old is
  routinely estimated anywhere from 22 to 40.

## Must not be used for

- Any commercial purpose (UTKFace licence).
- Deciding anything about a person on its own: access to services, age-gating of minors
  without another check, hiring, policing, immigration, credit or insurance.
- Inferring gender identity: the model predicts the binary sex label annotated in UTKFace
  from appearance; it says nothing about how a person identifies.
- Surveillance, tracking or identifying people; processing faces without a lawful basis and
  consent.
- Faces unlike the training data: children under 5 and adults over 80 have large errors;
  profile views, occlusions, heavy make-up, low light and non-photographic images are not
  represented; errors differ by group as the tables above show.
`;
}

/** Where the gap is widest: the best and worst race groups, as "Asian 86.6% vs Indian 92.4%". */
function gapEnds(gap: Figures): string {
  const groups = Object.entries(gap.byRace as Record<string, { accuracy: number }>).sort((x, y) => x[1].accuracy - y[1].accuracy);
  const [lo, hi] = [groups[0], groups[groups.length - 1]];
  // Two decimals: at one, the ends' rounding can disagree with the rounded gap (90.9% vs 93.5% for a 2.5-point gap).
  return `${lo[0]} ${pct(lo[1].accuracy, 2)} vs ${hi[0]} ${pct(hi[1].accuracy, 2)}`;
}

/** The top-level README's "Models at a glance" table and summary, from the same figures as the card. */
function readmeGlance(m: Figures): string {
  const b = m.baseline;
  const p = m.peer;
  const mib = (m.models.bytes.gender + m.models.bytes.age) / 1024 / 1024;
  const adults = m.genderRaceGapAges20Plus;
  return `All on the ${m.n.toLocaleString('en')} \`test\` chips of UTKFace's fixed split (full tables: [models/README.md](models/README.md)):

| | gender accuracy | age MAE, all ages | age MAE, ages <= 60 | size |
|---|---:|---:|---:|---:|
| ours (${inputsLabel(m.models.gender.spec, m.models.age.spec)}, trained here) | ${pct(m.test.gender.accuracy, 2)} | ${yrs(m.test.age.mae)} y | ${yrs(m.ageLe60.mae)} y | ${mib.toFixed(1)} MiB |
| original notebook recipe, retrained on our split | ${b ? pct(b.genderAccuracy, 2) : 'n/a'} | ${b ? `${yrs(b.ageMae)} y` : 'n/a'} | ${b ? `${yrs(b.ageMaeAgeLe60)} y` : 'n/a'} | |
| @vladmandic/face-api ageGenderNet (trained on UTKFace, may have seen test) | ${p ? pct(p.gender?.accuracy, 2) : 'not measured'} | ${p ? `${yrs(p.age?.mae)} y` : 'n/a'} | ${p?.ageLe60 ? `${yrs(p.ageLe60.mae)} y` : 'n/a'} | |

Ages come with an ${pct(m.models.age.calibration?.intervalLevel, 0)} range (covers ${pct(m.test.age.coverage)} of test ages); gender confidence is calibrated
(ECE ${yrs(m.test.gender.ece, 3)}). Where the models fail most: children (gender ${pct(m.byGroup['age 0-12'].gender.accuracy, 0)} under 13),
people aged 60 and over (age MAE ${yrs(m.byGroup['age 60+'].age.mae, 1)}), and a ${yrs(m.genderRaceGap.gapPoints, 1)}-point gender-accuracy gap between race
groups (${gapEnds(m.genderRaceGap)})${adults ? `, which is ${yrs(adults.gapPoints, 1)} points among faces aged 20+ (${gapEnds(adults)})${childrenExplainGap(m) ? ': the groups differ mostly in their share of children' : ''}` : ''}.
Models: \`${m.modelVersion}\`.`;
}

export { modelCard, readmeGlance, inputsLabel, featureCommands };
