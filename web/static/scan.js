// Scanning in the page: the camera (the BarcodeDetector API where the browser has it, else the
// npm barcode-detector polyfill on zxing-wasm, served by the app from /static/vendor/) and a
// photo, then the resolver page of the code that was read.
//
// It enhances markup that works without JavaScript:
//
//   <form data-scanner action="/scan" method="post" enctype="multipart/form-data">
//     <input type="file" name="image" accept="image/*" capture="environment">
//     <button type="submit">…</button>
//   </form>
//
// With JavaScript, a camera button is added (when the page may use a camera), and a chosen
// photo is first read in the browser: a code found goes straight to its page; otherwise the
// form is submitted as it would be without JavaScript, and the server's decoder tries.
// An ES module with no inline code, so it runs under a strict Content-Security-Policy (the
// polyfill's WebAssembly needs 'wasm-unsafe-eval' in script-src).

const FORMATS = ["qr_code", "data_matrix", "ean_13", "ean_8", "upc_a", "upc_e", "code_128",
  "itf", "databar", "databar_expanded"];
const SUPERVISION_CODE = /^[0-9]{20}$/;
const MAX_PHOTO_SIDE = 1600;
const POLYFILL = new URL("vendor/barcode-detector/dist/es/ponyfill.js", import.meta.url);
const WASM = new URL("vendor/zxing-wasm/dist/reader/zxing_reader.wasm", import.meta.url);

const WORDS = {
  zh: {
    camera: "用相机扫码",
    stop: "停止扫码",
    starting: "正在打开相机…",
    aim: "将条码或二维码对准取景框",
    found: "已识别：",
    noCamera: "无法使用相机，请改为上传照片。",
    notFound: "照片中未找到条码，正在交给服务器识别…",
    unknown: "无法识别此码：",
  },
  en: {
    camera: "Scan with the camera",
    stop: "Stop scanning",
    starting: "Opening the camera…",
    aim: "Point the camera at the barcode or QR code",
    found: "Read: ",
    noCamera: "The camera cannot be used; upload a photo instead.",
    notFound: "No code found in the photo here; sending it to the server…",
    unknown: "This code cannot be read: ",
  },
};

function words() {
  return (document.documentElement.lang || "zh").toLowerCase().startsWith("en")
    ? WORDS.en : WORDS.zh;
}

let detectorPromise;

/** A BarcodeDetector: the browser's own when it has one for our formats, else the polyfill. */
export function barcodeDetector() {
  detectorPromise ??= (async () => {
    if ("BarcodeDetector" in globalThis) {
      try {
        const supported = await globalThis.BarcodeDetector.getSupportedFormats();
        const formats = FORMATS.filter((f) => supported.includes(f));
        if (formats.includes("qr_code")) return new globalThis.BarcodeDetector({ formats });
      } catch {
        // fall through to the polyfill
      }
    }
    const { BarcodeDetector, prepareZXingModule } = await import(POLYFILL.href);
    // The .wasm comes from this app, never the CDN the package defaults to.
    prepareZXingModule({
      overrides: {
        locateFile: (path, prefix) => (path.endsWith(".wasm") ? WASM.href : prefix + path),
      },
    });
    return new BarcodeDetector({ formats: FORMATS });
  })();
  return detectorPromise;
}

/**
 * Where a code read off a package leads on this site: our own Digital Link and /c/ URLs as
 * they are, a 20-digit supervision code to /c/…, anything else through the parse API to its
 * GS1 Digital Link path (served by this site's resolver).
 */
export async function resolverPath(text, { parseUrl = "/api/v1/codes/parse", origin } = {}) {
  const code = text.trim();
  const here = origin ?? globalThis.location?.origin;
  if (SUPERVISION_CODE.test(code)) return `/c/${code}`;
  try {
    const url = new URL(code);
    if (url.origin === here && /^\/(01|c)\//.test(url.pathname)) {
      return url.pathname + url.search;
    }
  } catch {
    // not a URL: an element string or a GTIN
  }
  const response = await fetch(`${parseUrl}?code=${encodeURIComponent(code)}`,
    { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
  }
  if (body.kind === "supervision_code") {
    const digits = code.replace(/\D/g, "");
    if (SUPERVISION_CODE.test(digits)) return `/c/${digits}`;
  }
  const link = new URL(body.digital_link, here);
  return link.pathname + link.search;
}

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

class Scanner {
  constructor(form) {
    this.form = form;
    this.parseUrl = form.dataset.parseUrl || "/api/v1/codes/parse";
    this.status = element("p", "", { "data-scan-status": "", role: "status" });
    this.video = element("video", undefined, { "data-scan-video": "", playsinline: "",
      muted: "", hidden: "" });
    this.video.muted = true;
    this.button = element("button", words().camera, { type: "button", "data-scan-camera": "" });
    this.button.addEventListener("click", () => (this.stream ? this.stop() : this.start()));
    const camera = element("div", undefined, { class: "scan-camera" });
    if (navigator.mediaDevices?.getUserMedia) camera.append(this.button);
    camera.append(this.video);
    // Above the photo field: the camera is the quicker way, the photo the fallback.
    const photo = form.querySelector(".photo") ?? form.querySelector('input[type="file"]');
    if (photo) photo.before(camera);
    else form.prepend(camera);
    form.append(this.status);
    this.file = form.querySelector('input[type="file"]');
    this.file?.addEventListener("change", () => this.readPhoto());
    form.addEventListener("submit", (event) => {
      // A photo the browser could read never needs the upload.
      if (this.resolved) event.preventDefault();
    });
  }

  say(text) {
    this.status.textContent = text;
  }

  async go(text) {
    this.say(words().found + text);
    try {
      const path = await resolverPath(text, { parseUrl: this.parseUrl });
      this.resolved = true;
      this.stop();
      window.location.assign(path);
      return true;
    } catch (error) {
      this.say(words().unknown + error.message);
      return false;
    }
  }

  async start() {
    const w = words();
    this.say(w.starting);
    try {
      this.stream = await navigator.mediaDevices.getUserMedia(
        { video: { facingMode: "environment" }, audio: false });
    } catch {
      this.stream = undefined;
      this.say(w.noCamera);
      return;
    }
    this.video.srcObject = this.stream;
    this.video.hidden = false;
    await this.video.play();
    this.button.textContent = w.stop;
    this.say(w.aim);
    const detector = await barcodeDetector();
    let last = "";
    const tick = async () => {
      if (!this.stream) return;
      let codes = [];
      try {
        codes = await detector.detect(this.video);
      } catch {
        // a frame not ready yet: try the next one
      }
      const text = codes[0]?.rawValue;
      if (text && text !== last) {
        last = text;
        if (await this.go(text)) return;
      }
      setTimeout(tick, 150);
    };
    tick();
  }

  stop() {
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = undefined;
    this.video.hidden = true;
    this.video.srcObject = null;
    this.button.textContent = words().camera;
  }

  async readPhoto() {
    const image = this.file.files?.[0];
    if (!image) return;
    let codes = [];
    try {
      const detector = await barcodeDetector();
      let bitmap = await createImageBitmap(image);
      const { width, height } = bitmap;
      const longest = Math.max(width, height);
      if (longest > MAX_PHOTO_SIDE) {
        // A phone's 12-megapixel photo takes the wasm decoder seconds; a code on a package
        // reads as well at this size, and the server still gets the full photo if it does not.
        const scale = MAX_PHOTO_SIDE / longest;
        bitmap.close();
        bitmap = await createImageBitmap(image, { resizeWidth: Math.round(width * scale),
          resizeHeight: Math.round(height * scale), resizeQuality: "high" });
      }
      codes = await detector.detect(bitmap);
    } catch {
      // the server reads what the browser cannot (HEIC, say)
    }
    for (const code of codes) {
      if (await this.go(code.rawValue)) return;
    }
    this.say(words().notFound);
    this.form.requestSubmit();
  }
}

if (typeof document !== "undefined") {
  for (const form of document.querySelectorAll("form[data-scanner]")) new Scanner(form);
}
