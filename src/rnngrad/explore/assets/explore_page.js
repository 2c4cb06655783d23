// The explorer's page: settings from the address (#arch=rnn&gain=2&T=100), sliders, the plot, the
// numbers. The contract (the browser test depends on it): after every render <pre id="explore-data">
// holds {"arch", "T", "log10_norm": [T+1], "log10_carousel": [T+1] (lstm), …}, entry t for ∂s_T/∂s_t
// as in `rnngrad jacobian --json` (null for an exactly zero Jacobian), and the document receives an
// "explore:rendered" event.
"use strict";

(() => {
  const WEIGHTS = JSON.parse(document.getElementById("explore-weights").textContent);
  const TEXT = JSON.parse(document.getElementById("explore-text").textContent);
  const T_MAX = WEIGHTS.max_steps;
  const DEFAULTS = {arch: "rnn", activation: "tanh", gain: 1, input_scale: 1, T: 100, forget_bias: 0, init: "default"};
  const CHOICES = {arch: ["rnn", "lstm"], activation: ["tanh", "sigmoid", "relu"], init: ["default", "chrono"]};
  const RANGES = {gain: [0.05, 5], input_scale: [0, 5], T: [1, T_MAX], forget_bias: [-5, 10]};
  const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
  const $ = id => document.getElementById(id);
  let setting = {...DEFAULTS}, pending = false, renders = 0;

  function parseHash(hash) {  // → {setting, problems}; any problem gives the defaults
    const problems = [], parsed = {...DEFAULTS}, seen = new Set();
    const body = hash.replace(/^#/, "");
    for (const part of body ? body.split("&") : []) {
      const cut = part.indexOf("=");
      let key = cut < 0 ? part : part.slice(0, cut), value = cut < 0 ? "" : part.slice(cut + 1);
      try { key = decodeURIComponent(key); value = decodeURIComponent(value); } catch (error) {
        problems.push(TEXT.bad_encoding.replace("{part}", () => part)); continue;
      }
      if (!Object.hasOwn(DEFAULTS, key)) { problems.push(TEXT.bad_key.replace("{key}", () => key)); continue; }
      if (seen.has(key)) { problems.push(TEXT.repeated_key.replace("{key}", () => key)); continue; }
      seen.add(key);
      if (key in CHOICES) {
        if (CHOICES[key].includes(value)) parsed[key] = value;
        else problems.push(TEXT.bad_choice.replace("{key}", key).replace("{choices}", CHOICES[key].join(", "))
                                          .replace("{value}", () => value));
        continue;
      }
      const [low, high] = RANGES[key], number = Number(value);
      const valid = NUMBER.test(value) && number >= low && number <= high && (key !== "T" || Number.isInteger(number));
      if (valid) parsed[key] = number;
      else problems.push(TEXT[key === "T" ? "bad_integer" : "bad_number"].replace("{key}", key)
                             .replace("{low}", low).replace("{high}", high).replace("{value}", () => value));
    }
    return problems.length ? {setting: {...DEFAULTS}, problems} : {setting: parsed, problems};
  }

  function hashOf(s) {
    const keys = s.arch === "rnn" ? ["arch", "activation", "gain", "input_scale", "T"] : ["arch", "forget_bias", "init", "T"];
    return "#" + keys.map(key => `${key}=${s[key]}`).join("&");
  }

  function compute(s) {
    const result = s.arch === "rnn" ? ExploreMath.rnn(WEIGHTS.rnn, s) : ExploreMath.lstm(WEIGHTS.lstm, s);
    const finite = values => values.map(v => (Number.isFinite(v) ? v : null));
    const data = {arch: s.arch, T: s.T, hidden_size: result.hiddenSize, log10_norm: finite(result.log10Norm),
                  log10_frobenius: finite(result.log10Frobenius)};
    if (s.arch === "lstm") Object.assign(data, {log10_carousel: finite(result.log10Carousel), forget_bias: s.forget_bias, init: s.init});
    else Object.assign(data, {activation: s.activation, gain: s.gain, input_scale: s.input_scale,
                              log10_bound: result.log10Norm.map((_, t) => (s.T - t) * Math.log10(result.bound))});
    return data;
  }

  function powerOfTen(value) {  // log10 → "1.9e-4", as the CLI prints
    if (value === null) return "0";
    let exponent = Math.floor(value), mantissa = 10 ** (value - exponent);
    if (Math.round(mantissa * 10) / 10 >= 10) { mantissa /= 10; exponent += 1; }
    return `${mantissa.toFixed(1)}e${exponent}`;
  }

  function curves(data) {  // [{key, label, values by t, class}]
    const list = [{key: "log10_norm", label: TEXT.legend_spectral, className: "spectral"},
                  {key: "log10_frobenius", label: TEXT.legend_frobenius, className: "frobenius"}];
    if (data.arch === "lstm") list.push({key: "log10_carousel", label: TEXT.legend_carousel, className: "carousel"});
    else list.push({key: "log10_bound", label: TEXT.legend_bound, className: "bound"});
    return list;
  }

  function plot(data) {
    const width = 760, height = 360, left = 64, right = 16, top = 14, bottom = 46;
    const shown = curves(data), values = shown.flatMap(c => data[c.key]).filter(v => v !== null);
    let low = Math.floor(Math.min(0, ...values)), high = Math.ceil(Math.max(0, ...values));
    if (high - low < 1) high = low + 1;
    const step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].find(s => (high - low) / s <= 8) || 2000;
    low = Math.floor(low / step) * step;
    high = Math.ceil(high / step) * step;
    const x = k => left + (width - left - right) * k / Math.max(1, data.T);
    const y = v => top + (height - top - bottom) * (high - v) / (high - low);
    const parts = [`<rect class="frame" x="${left}" y="${top}" width="${width - left - right}" height="${height - top - bottom}"/>`];
    for (let v = low; v <= high; v += step) {
      parts.push(`<line class="grid" x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}"/>`,
                 `<text class="tick" x="${left - 6}" y="${y(v) + 4}" text-anchor="end">10<tspan dy="-6" font-size="9">${v}</tspan></text>`);
    }
    const xStep = [1, 2, 5, 10, 20, 25, 50].find(s => data.T / s <= 10) || 50;
    for (let k = 0; k <= data.T; k += xStep) {
      parts.push(`<text class="tick" x="${x(k)}" y="${height - bottom + 16}" text-anchor="middle">${k}</text>`);
    }
    parts.push(`<text class="axis" x="${(left + width - right) / 2}" y="${height - 8}" text-anchor="middle">${TEXT.x_axis}</text>`,
               `<text class="axis" transform="translate(14 ${(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle">${TEXT.y_axis}</text>`);
    for (const curve of shown) {
      let d = "", pen = "M";
      for (let k = 0; k <= data.T; k++) {
        const v = data[curve.key][data.T - k];
        if (v === null) { pen = "M"; continue; }
        d += `${pen}${x(k).toFixed(2)},${y(v).toFixed(2)}`;
        pen = "L";
      }
      parts.push(`<path class="curve ${curve.className}" data-curve="${curve.key}" d="${d}"/>`);
    }
    $("plot").innerHTML = parts.join("");
    $("legend").innerHTML = shown.map(c => `<li><span class="swatch ${c.className}"></span>${c.label}</li>`).join("");
  }

  function table(data) {
    const lags = [...new Set([1, 10, 50, 100, 200, data.T].filter(k => k <= data.T))].sort((a, b) => a - b);
    const rows = curves(data).map(c => `<tr><th>${c.label}</th>${lags.map(k => `<td>${powerOfTen(data[c.key][data.T - k])}</td>`).join("")}</tr>`);
    $("numbers").innerHTML = `<thead><tr><th>${TEXT.lag}</th>${lags.map(k => `<th>k = ${k}</th>`).join("")}</tr></thead>` +
                             `<tbody>${rows.join("")}</tbody>`;
    const last = data.log10_norm[0];
    const verdict = last === null || last < -3 ? TEXT.vanishes : last > 0 ? TEXT.explodes : TEXT.survives;
    $("verdict").textContent = TEXT.verdict.replace("{T}", data.T).replace("{norm}", powerOfTen(last)) + " " + verdict;
  }

  function render() {
    pending = false;
    const data = compute(setting);
    plot(data);
    table(data);
    $("explore-data").textContent = JSON.stringify(data);
    renders += 1;
    document.documentElement.dataset.renders = String(renders);
    document.dispatchEvent(new CustomEvent("explore:rendered", {detail: renders}));
  }

  function schedule() {  // coalesce a burst of slider events into one render
    if (!pending) { pending = true; setTimeout(render, 0); }
  }

  function showControls() {
    for (const control of ["arch", "activation", "init"]) $(control).value = setting[control];
    for (const control of Object.keys(RANGES)) { $(control).value = setting[control]; $(`${control}-value`).textContent = setting[control]; }
    for (const element of document.querySelectorAll("[data-arch]")) element.hidden = element.dataset.arch !== setting.arch;
  }

  function fromHash() {
    const {setting: parsed, problems} = parseHash(location.hash);
    setting = parsed;
    $("explore-message").textContent = problems.length ? TEXT.bad_hash.replace("{problems}", () => problems.join("; ")) : "";
    $("explore-message").hidden = !problems.length;
    showControls();
  }

  function onControl(event) {
    const key = event.target.id;
    setting[key] = key in RANGES ? Number(event.target.value) : event.target.value;
    if (key === "T") setting.T = Math.round(setting.T);
    $("explore-message").hidden = true;
    showControls();
    history.replaceState(null, "", hashOf(setting));
    schedule();
  }

  for (const control of [...Object.keys(CHOICES), ...Object.keys(RANGES)]) {
    const element = $(control);
    if (element.type === "range") Object.assign(element, {min: RANGES[control][0], max: RANGES[control][1], step: control === "T" ? 1 : "any"});
    element.addEventListener(element.type === "range" ? "input" : "change", onControl);
  }
  window.addEventListener("hashchange", () => { fromHash(); schedule(); });
  fromHash();
  render();
})();
