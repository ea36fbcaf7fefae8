// The file is fetched as a stream: the page counts its rows as they come, then saves them under the
// file's name. Meanwhile the server checks the data for the error report and streams its progress
// (data-checked marks) and, at the end, the row count (a data-total mark) into this page. Without fetch
// streams the link downloads the file as usual.
(function () {
  var link = document.querySelector("[data-testid=download]");
  var status = document.querySelector("[data-testid=progress]");
  var bar = document.querySelector("[data-testid=progress-bar]");
  var checking = document.querySelector("[data-testid=check-progress]");
  var total = null, received = 0, busy = false, built = null;
  function show(text) {
    status.textContent = text;
    if (total !== null) { bar.max = Math.max(total, 1); bar.value = Math.min(received, total); }
  }
  function checked(persons) {
    checking.textContent = "Проверка данных… проверено людей: " + persons;
  }
  function counted(rows) {
    total = rows;
    checking.textContent = "Проверка данных завершена.";
    if (busy) show("Формируется… получено строк: " + received + " из " + total);
  }
  // The server's progress comes as marks streamed into the page (<span hidden data-checked=N>, at
  // the end data-total=N): each is read as the parser adds it.
  function mark(node) {
    if (node.nodeType !== 1) return;
    if (node.dataset.checked) checked(Number(node.dataset.checked));
    if (node.dataset.total) counted(Number(node.dataset.total));
    node.querySelectorAll("[data-checked], [data-total]").forEach(mark);
  }
  document.querySelectorAll("[data-checked], [data-total]").forEach(mark);
  new MutationObserver(function (changes) {
    changes.forEach(function (change) { change.addedNodes.forEach(mark); });
  }).observe(document.body, {childList: true, subtree: true});
  if (!window.fetch || !window.ReadableStream) return;
  function save(parts, name) {
    var url = URL.createObjectURL(new Blob(parts, {type: "text/csv"}));
    var a = document.createElement("a");
    a.href = url; a.download = name; document.body.appendChild(a); a.click(); a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }
  async function run() {
    if (busy) return;
    busy = true; received = 0;
    show("Формируется…");
    try {
      var response = await fetch(link.href, {credentials: "same-origin"});
      var type = response.headers.get("Content-Type") || "";
      if (!response.ok || response.redirected || !response.body || type.indexOf("text/csv") !== 0) {
        throw new Error("ответ " + response.status);  // e.g. the form again with a message
      }
      var reader = response.body.getReader();
      var parts = [], bytes = 0;
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        parts.push(chunk.value);
        bytes += chunk.value.length;
        for (var i = chunk.value.indexOf(10); i !== -1; i = chunk.value.indexOf(10, i + 1)) received++;
        show("Формируется… получено строк: " + received + (total === null ? "" : " из " + total));
      }
      received = bytes ? received + 1 : 0;  // CR LF only between rows
      built = parts;
      save(parts, link.dataset.name);
      show("Файл " + link.dataset.name + " сформирован и сохранён: строк " + received + ".");
    } catch (error) {
      show("Файл не сформирован (" + error.message + "): нажмите «Скачать файл» ещё раз.");
    } finally {
      busy = false;
    }
  }
  // "Скачать файл" saves the file made by "Сформировать" again: one generation (and one audit
  // entry) per click of "Сформировать"; only a failed one is made anew.
  link.addEventListener("click", function (event) {
    event.preventDefault();
    if (built) { save(built, link.dataset.name); show("Файл " + link.dataset.name + " сохранён ещё раз: строк " + received + "."); }
    else run();
  });
  run();
})();
