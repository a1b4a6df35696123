#!/usr/bin/env node
// A GAN Studio generator on the command line, with onnxruntime-node and no Python:
//   node examples/node/generate.mjs MODEL.onnx --seed 1 --n 16 --out grid.png [--label 3]
// Reads the model card beside the model (MODEL.json); where there is none, the metadata inside
// the .onnx file itself (onnxruntime's JavaScript API does not expose metadata_props, so
// ../common/gan.mjs reads them from the file's bytes).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';

import {
  cardPathFor, checkSession, direction, imagePixels, metadataFromCard, metadataFromOnnx, moveAlong, sampleLatents,
} from '../common/gan.mjs';
import { encodePng } from './png.mjs';

const USAGE = `usage: node generate.mjs MODEL.onnx [--out grid.png] [--n 16] [--seed 0] [--label K]
                        [--nrow R] [--padding 2] [--scale 1] [--truncation 1] [--card CARD.json]
                        [--threads T] [--direction K [--amount A]] [--info]

Samples seeded latents, runs a GAN Studio generator with onnxruntime-node and writes a PNG grid.
  --out PATH        the PNG to write (default grid.png)
  --n N             images in the grid (default 16)
  --seed S          latent seed, an integer >= 0 (default 0); same seed, same PNG
  --label K         class for a conditional model (default: cycle the classes, one per column)
  --nrow R          images per row (default: square, or one class per column)
  --padding P       pixels between tiles (default 2)
  --scale F         enlarge every pixel F times (default 1)
  --truncation T    scale latents toward the mean, in [0, 1] (default 1: none)
  --card PATH       the model card (default: MODEL.json beside the model; else the metadata
                    inside the .onnx file)
  --threads T       onnxruntime intra-op threads (default: onnxruntime's choice)
  --direction K     move every latent along the model's stored SeFa direction K (0: the strongest)
  --amount A        how far along it, in units of z (default 3; negative: the other way, as --amount=-2)
  --info            print the metadata and the model's inputs, write nothing
Latents follow the ONNX contract's latent scheme (Philox-4x32-10, see docs/inference.md): seed S
draws the same latents here, on the web example's page and in "python -m inference" for every
model exported with latent_scheme philox (older files: Python keeps numpy's PCG64 for them).`;

class UsageError extends Error {}

function intArg(values, name, def, min) {
  const v = values[name];
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${v}`);
  return n;
}

function parse(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', default: 'grid.png' },
      n: { type: 'string' },
      seed: { type: 'string' },
      label: { type: 'string' },
      nrow: { type: 'string' },
      padding: { type: 'string' },
      scale: { type: 'string' },
      truncation: { type: 'string' },
      card: { type: 'string' },
      threads: { type: 'string' },
      direction: { type: 'string' },
      amount: { type: 'string' },
      info: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { help: true };
  if (positionals.length !== 1) throw new UsageError('give exactly one MODEL.onnx');
  const truncation = values.truncation === undefined ? 1 : Number(values.truncation);
  if (!(truncation >= 0 && truncation <= 1)) throw new UsageError(`--truncation must be in [0, 1], got ${values.truncation}`);
  const amount = values.amount === undefined ? null : Number(values.amount);
  if (amount !== null && !Number.isFinite(amount)) throw new UsageError(`--amount must be a finite number, got ${values.amount}`);
  if (amount !== null && values.direction === undefined) throw new UsageError('--amount needs --direction K (which direction to move along)');
  return {
    model: positionals[0],
    out: values.out,
    n: intArg(values, 'n', 16, 1),
    seed: intArg(values, 'seed', 0, 0),
    label: intArg(values, 'label', null, 0),
    nrow: intArg(values, 'nrow', null, 1),
    padding: intArg(values, 'padding', 2, 0),
    scale: intArg(values, 'scale', 1, 1),
    threads: intArg(values, 'threads', 0, 0),
    truncation,
    direction: intArg(values, 'direction', null, 0),
    amount: amount ?? 3,
    card: values.card,
    info: values.info,
  };
}

/** {meta, source}: the card beside the model, else the metadata inside the file. */
function loadMetadata(modelPath, bytes, cardPath) {
  const explicit = cardPath !== undefined;
  const path = explicit ? cardPath : cardPathFor(modelPath);
  if (existsSync(path)) {
    let card;
    try {
      card = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`${path}: not a JSON model card (${e.message})`);
    }
    return { meta: metadataFromCard(card), source: path };
  }
  if (explicit) throw new Error(`${path}: no such model card`);
  const meta = metadataFromOnnx(bytes);
  if (!meta) throw new Error(`${modelPath}: no model card at ${path} and no gan_studio.* metadata in the file`);
  return { meta, source: `${modelPath} (metadata_props)` };
}

/** Tile uint8 images [n][H*W*C] into one grid image, like inference.images.image_grid. */
function grid(images, h, w, c, nrow, padding, scale) {
  const cols = Math.min(nrow, images.length);
  const rows = Math.ceil(images.length / cols);
  const gw = (cols * (w + padding) + padding) * scale;
  const gh = (rows * (h + padding) + padding) * scale;
  const out = new Uint8Array(gw * gh * c); // pad value 0 (transparent for RGBA), as Python's grid
  images.forEach((img, i) => {
    const y0 = (padding + Math.floor(i / cols) * (h + padding)) * scale;
    const x0 = (padding + (i % cols) * (w + padding)) * scale;
    for (let y = 0; y < h * scale; y += 1) {
      for (let x = 0; x < w * scale; x += 1) {
        const src = (Math.floor(y / scale) * w + Math.floor(x / scale)) * c;
        const dst = ((y0 + y) * gw + x0 + x) * c;
        for (let k = 0; k < c; k += 1) out[dst + k] = img[src + k];
      }
    }
  });
  return { pixels: out, width: gw, height: gh };
}

async function main(argv) {
  const args = parse(argv);
  if (args.help) {
    console.log(USAGE);
    return;
  }
  if (!existsSync(args.model)) throw new Error(`${args.model}: no such file`);
  const bytes = readFileSync(args.model);
  const { meta, source } = loadMetadata(args.model, bytes, args.card);

  const options = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
  if (args.threads) options.intraOpNumThreads = args.threads;
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, options);
  } catch (e) {
    throw new Error(`${args.model}: onnxruntime cannot load it: ${e.message}`);
  }
  checkSession(meta, session);
  const [c, h, w] = meta.imageShape;

  if (args.info) {
    console.log(`model: ${args.model}\nmetadata from: ${source}`);
    for (const [k, v] of Object.entries(meta.raw)) {
      if (k === 'directions' && meta.directions) {
        const d = meta.directions;
        console.log(`directions: ${d.vectors.length} ${d.method} directions of ${d.layer} (share ${d.share.map((x, i) => `${i}: ${(100 * x).toFixed(1)}%`).join(', ')})`);
      } else console.log(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    }
    console.log(`inputs: ${JSON.stringify(session.inputMetadata ?? session.inputNames)}`);
    return;
  }

  const conditional = meta.numClasses > 0;
  let nrow = args.nrow;
  let labels = null;
  if (conditional) {
    if (args.label !== null && args.label >= meta.numClasses) {
      throw new Error(`--label must be in 0..${meta.numClasses - 1} (${meta.classNames.join(', ')}), got ${args.label}`);
    }
    labels = new BigInt64Array(args.n);
    for (let i = 0; i < args.n; i += 1) labels[i] = BigInt(args.label ?? i % meta.numClasses);
    if (args.label === null) nrow = nrow ?? meta.numClasses;
  } else if (args.label !== null) {
    throw new Error(`${args.model} is not class-conditional (num_classes 0): leave out --label`);
  }
  nrow = nrow ?? Math.ceil(Math.sqrt(args.n));

  if (args.direction !== null) direction(meta, args.direction); // a missing or wrong K: refused before any work
  let z = sampleLatents(meta, args.n, args.seed, args.truncation);
  if (args.direction !== null) z = moveAlong(meta, z, args.direction, args.amount);
  const feeds = { z: new ort.Tensor('float32', z, [args.n, meta.latentDim]) };
  if (labels) feeds.label = new ort.Tensor('int64', labels, [args.n]);
  const t0 = performance.now();
  const result = await session.run(feeds);
  const ms = performance.now() - t0;
  const image = result.image;
  const want = [args.n, c, h, w];
  if (image.dims.length !== 4 || image.dims.some((d, i) => d !== want[i])) {
    throw new Error(`output image has shape [${image.dims}], the metadata says [${want}]`);
  }

  // [N, C, H, W] floats in output_range -> N uint8 images, H x W x C, the bytes Python's generate() gives
  const images = Array.from({ length: args.n }, (_, i) => imagePixels(image.data, i, meta));
  const g = grid(images, h, w, c, nrow, args.padding, args.scale);
  writeFileSync(args.out, encodePng(g.pixels, g.width, g.height, c));
  const what = conditional ? (args.label !== null ? `, label ${args.label} (${meta.classNames[args.label]})` : ', classes cycled') : '';
  console.log(`wrote ${args.out}: ${args.n} images of ${w}x${h}, grid ${g.width}x${g.height}, seed ${args.seed}${what}${args.direction !== null ? `, moved ${args.amount} along direction ${args.direction}` : ''}; `
    + `generated in ${ms.toFixed(1)} ms (onnxruntime-node ${ort.env.versions?.common ?? ''}, metadata from ${source})`);
}

main(process.argv.slice(2)).catch((e) => {
  console.error(`error: ${e.message}`);
  if (e instanceof UsageError || e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    console.error(USAGE);
    process.exit(2);
  }
  process.exit(1);
});
