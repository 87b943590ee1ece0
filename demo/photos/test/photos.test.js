// Tests of demo/photos: the embedder (deterministic, 1,280 finite values,
// pixels in, not file bytes), the edits and the contact sheet.  Pictures are
// drawn here, so they need only the npm packages:  node --test test/
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const { need } = require('../modules');
const { createEmbedder, toText, DIMS } = require('../embed');
const { makeEdit, copyName, KINDS } = require('../edit');
const { drawSheet, layout } = require('../sheet');

const sharp = need('sharp');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vqpq-photos-test-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

// a picture of W x H from a function of (x, y) -> [r, g, b]
async function picture(file, width, height, colour) {
	const data = Buffer.alloc(width * height * 3);
	for (let y = 0; y < height; y++)
		for (let x = 0; x < width; x++) data.set(colour(x, y), 3 * (y * width + x));
	await sharp(data, { raw: { width, height, channels: 3 } }).toFile(file);
	return file;
}

// a sunset-like scene: sky gradient, an orange disc off to the left, dark ground
const scene = (x, y) => {
	if (y > 150) return [40, 60 + (x % 7), 30];
	const d = Math.hypot(x - 90, y - 100);
	return d < 40 ? [250, 150, 40] : [80 + y / 2, 120 + y / 3, 230 - y / 2];
};
// something else entirely: blue and white stripes
const stripes = (x, y) => (Math.floor((x + y) / 12) % 2 ? [20, 40, 200] : [240, 240, 240]);

function cosine(a, b) {
	let ab = 0, aa = 0, bb = 0;
	for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
	return 1 - ab / Math.sqrt(aa * bb);
}

let embedder;
test.before(async () => { embedder = await createEmbedder(); });
test.after(() => embedder && embedder.dispose());

test('an embedding is 1,280 finite values, not all zero', async () => {
	const v = await embedder.embedFile(await picture(path.join(dir, 'scene.png'), 320, 200, scene));
	assert.strictEqual(v.length, DIMS);
	assert.ok(v.every(Number.isFinite), 'all finite');
	assert.ok(v.some((x) => x !== 0), 'not all zero');
});

test('the same file gives the same vector, again and in another process', async () => {
	const file = await picture(path.join(dir, 'scene2.jpg'), 320, 200, scene);
	const a = await embedder.embedFile(file);
	const b = await embedder.embedFile(file);
	assert.deepStrictEqual(Array.from(b), Array.from(a));
	// the program prints FILE <tab> ms <tab> vector; its vector must be this one
	const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'embed.js'), file],
		{ encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
	const [name, ms, text] = out.trimEnd().split('\t');
	assert.strictEqual(name, file);
	assert.ok(Number(ms) > 0);
	assert.strictEqual(text, toText(a));
});

test('the vector depends on the pixels, not on the file format', async () => {
	const png = await picture(path.join(dir, 'same.png'), 300, 300, stripes);
	const webp = path.join(dir, 'same.webp');
	await sharp(png).webp({ lossless: true }).toFile(webp);
	assert.deepStrictEqual(Array.from(await embedder.embedFile(webp)), Array.from(await embedder.embedFile(png)));
	assert.deepStrictEqual(Array.from(await embedder.embedBuffer(fs.readFileSync(png))),
		Array.from(await embedder.embedFile(png)));
});

test('text form reads back as the same float32 values', async () => {
	const v = await embedder.embedFile(path.join(dir, 'scene.png'));
	const back = Float32Array.from(JSON.parse(toText(v)));
	assert.deepStrictEqual(Array.from(back), Array.from(v));
});

test('an edited copy is nearer its original than another picture is', async () => {
	const original = path.join(dir, 'scene.png');
	const other = await embedder.embedFile(path.join(dir, 'same.png'));
	const o = await embedder.embedFile(original);
	for (const kind of KINDS) {
		const copy = copyName(dir, original, kind);
		await makeEdit(original, kind, copy);
		const c = await embedder.embedFile(copy);
		assert.ok(cosine(o, c) < cosine(o, other), `${kind}: ${cosine(o, c)} vs ${cosine(o, other)}`);
	}
});

test('edits: sizes, and the same bytes every time', async () => {
	const original = path.join(dir, 'scene.png');        // 320 x 200
	const expect = { crop: [256, 160], flip: [320, 200], bright: [320, 200], jpeg: [320, 200], resize: [160, 100] };
	for (const kind of KINDS) {
		const copy = copyName(dir, original, kind);
		const meta = await sharp(copy).metadata();
		assert.deepStrictEqual([meta.width, meta.height, meta.format], [...expect[kind], 'jpeg'], kind);
		const again = path.join(dir, `again.${kind}.jpg`);
		await makeEdit(original, kind, again);
		assert.ok(fs.readFileSync(again).equals(fs.readFileSync(copy)), `${kind} is deterministic`);
	}
	await assert.rejects(makeEdit(original, 'rotate', path.join(dir, 'x.jpg')), /unknown edit rotate/);
});

test('a file that is not an image, or is not there, is an error that names it', async () => {
	const text = path.join(dir, 'notes.txt');
	fs.writeFileSync(text, 'not a picture\n');
	await assert.rejects(embedder.embedFile(text), (e) => e.message.startsWith(`${text}: cannot read it as an image`));
	await assert.rejects(embedder.embedFile(path.join(dir, 'missing.jpg')), /missing\.jpg: no such file/);
	const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'embed.js'), text], { encoding: 'utf8' });
	assert.strictEqual(r.status, 1);
	assert.match(r.stderr, /notes\.txt: cannot read it as an image/);
});

test('a missing npm package says what to install', () => {
	assert.throws(() => need('no-such-package-vqpq'),
		(e) => e.code === 'VQPQ_MISSING_PACKAGE' && /photo_demo\.sh --install-only/.test(e.message));
});

test('the contact sheet: its size, and each cell framed in its colour', async () => {
	const out = path.join(dir, 'sheet.png');
	const grey = [90, 90, 90], green = [40, 160, 60], red = [200, 40, 40];
	const spec = { out, cell: 64, frame: 4, gap: 6, rows: [
		[{ file: path.join(dir, 'scene.png'), colour: grey }, { file: path.join(dir, 'same.png'), colour: green }],
		[{ file: path.join(dir, 'same.webp'), colour: grey }, { file: path.join(dir, 'scene2.jpg'), colour: red },
			{ file: path.join(dir, 'scene.png'), colour: green }],
	] };
	const { width, height } = await drawSheet(spec);
	const L = layout(spec);
	assert.deepStrictEqual([width, height], [6 + 3 * (64 + 6) + 6, 6 + 2 * (64 + 6)]);
	const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
	assert.deepStrictEqual([info.width, info.height], [width, height]);
	const px = (x, y) => Array.from(data.subarray(3 * (y * width + x), 3 * (y * width + x) + 3));
	for (const [r, row] of spec.rows.entries())
		for (const [c, cell] of row.entries()) {
			const { left, top } = L.at(r, c);
			assert.deepStrictEqual(px(left + 1, top + 1), cell.colour, `row ${r} cell ${c}`);
		}
	assert.deepStrictEqual(px(width - 2, height - 2), [255, 255, 255], 'white where row 1 has no cell');
});
