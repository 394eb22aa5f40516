// The door's camera: "Scan with the camera" reads a ticket's QR code with the qr-scanner package (installed by
// scripts/install-scanner.py, served from this peer) and posts the code like a typed one. Once started, the
// camera comes back on by itself after each answer until staff press "Stop the camera".
(function () {
  const form = document.querySelector("form.door-form");
  const start = document.getElementById("camera-start");
  const stop = document.getElementById("camera-stop");
  const video = document.getElementById("camera-video");
  const status = document.getElementById("camera-status");
  const SAME_TICKET_PAUSE = 4000; // ms
  if (!form || !start || !window.QrScanner || !navigator.mediaDevices) return;
  start.hidden = false;
  let scanner = null;
  function say(text) { status.textContent = text; }
  function begin() {
    video.hidden = false; start.hidden = true; stop.hidden = false;
    sessionStorage.setItem("door-camera", "on");
    scanner = new QrScanner(video, (result) => {
      const code = typeof result === "string" ? result : result.data;
      if (!code) return;
      // The ticket just answered is still in front of the camera: let staff move on before reading it again.
      const [last, at] = (sessionStorage.getItem("door-last") || "|0").split("|");
      if (code === last && Date.now() - Number(at) < SAME_TICKET_PAUSE) return;
      sessionStorage.setItem("door-last", code + "|" + Date.now());
      scanner.stop();
      say("Read a code; checking it…");
      form.querySelector("input[name=code]").value = code;
      form.submit();
    }, { returnDetailedScanResult: true, highlightScanRegion: true });
    scanner.start().then(() => say("Point the camera at a ticket's QR code."), (error) => {
      say("The camera could not be started (" + error + "); type the code instead.");
      end();
    });
  }
  function end() {
    if (scanner) { scanner.stop(); scanner.destroy(); scanner = null; }
    video.hidden = true; stop.hidden = true; start.hidden = false;
    sessionStorage.removeItem("door-camera");
  }
  start.addEventListener("click", begin);
  stop.addEventListener("click", () => { end(); say(""); });
  if (sessionStorage.getItem("door-camera") === "on") begin();
})();
