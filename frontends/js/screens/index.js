// The domain screens of the mini-app, one module per domain. Each module calls
// registerScreen (see ../screens.js) for the home slots it fills. Add yours here:
//
//   import "./estate.js";    // issue 5: requests, evaluation
import "./content.js";
import "./notification.js";
import "./duty.js";
import "./task.js";
import "./visit.js";
import "./warning.js";
import "./request.js";
import "./property.js";
import "./evaluation.js";
import "./coordination.js";
import "./imports.js";
